package main

import (
	"runtime/debug"
	"testing"
)

func TestVersionNamesModuleRevisionAndDirtyTree(t *testing.T) {
	build := func(version string, settings ...debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "herald", Version: version}, Settings: settings}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "abc1234def5678901234567890abcdef12345678"}
	for _, tc := range []struct {
		override string
		info     *debug.BuildInfo
		want     string
	}{
		{"", build("(devel)", rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "(devel) rev abc1234def56 dirty"},
		{"", build("v1.2.0", rev, debug.BuildSetting{Key: "vcs.modified", Value: "false"}), "v1.2.0 rev abc1234def56"},
		{"", build(""), "(devel)"},
		{"v9.9.9-rc1", build("(devel)", rev), "v9.9.9-rc1 rev abc1234def56"},
	} {
		if got := describeBuild(tc.override, tc.info); got != tc.want {
			t.Errorf("describeBuild(%q, %v) = %q, want %q", tc.override, tc.info.Main.Version, got, tc.want)
		}
	}
}

package main

import (
	"runtime/debug"
	"strings"
)

// version can still be set at build time with -ldflags "-X main.version=...";
// otherwise it comes from the module and VCS data Go embeds in the binary.
var version = ""

// versionString is the module version, then the VCS revision (12 digits)
// and "dirty" when the build had uncommitted changes:
// "(devel) rev abc1234def56 dirty", "v1.2.0 rev abc1234def56".
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		if version != "" {
			return version
		}
		return "(unknown)"
	}
	return describeBuild(version, info)
}

func describeBuild(override string, info *debug.BuildInfo) string {
	parts := []string{override}
	if override == "" {
		parts[0] = info.Main.Version
		if parts[0] == "" {
			parts[0] = "(devel)"
		}
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		parts = append(parts, "rev", rev[:min(12, len(rev))])
		if dirty {
			parts = append(parts, "dirty")
		}
	}
	return strings.Join(parts, " ")
}

func versionLine() string { return "herald " + versionString() }

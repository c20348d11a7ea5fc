package templates_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"herald/templates"
)

// plainFormatter stands in for the locales package.
type plainFormatter struct{ zone *time.Location }

func (f plainFormatter) Date(v any, style string) (string, error) {
	t, ok := v.(time.Time)
	if !ok {
		return "", fmt.Errorf("date: %v is not a time", v)
	}
	return t.In(f.zone).Format("January 2, 2006"), nil
}
func (plainFormatter) Number(v any) (string, error)                  { return fmt.Sprint(v), nil }
func (plainFormatter) Money(v any, cur string) (string, error)       { return fmt.Sprint(cur, " ", v), nil }
func (plainFormatter) Plural(n any, forms ...string) (string, error) { return forms[0], nil }

func Example() {
	dir, _ := os.MkdirTemp("", "herald-example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "en.toml"), []byte(`
[default]
text = "Hi {{.name}}, order {{.order_id}} arrives on {{date .eta \"long\"}}."

[whatsapp]
template = "shipment_delay"
params = ["{{.name}}", "{{.order_id}}"]
`), 0o644)

	set, err := templates.Load(dir, func(locale, _ string, zone *time.Location) (templates.Formatter, error) {
		return plainFormatter{zone}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	data := map[string]any{
		"name":     "Ann",
		"order_id": "A-17",
		"eta":      time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC),
	}
	tokyo := time.FixedZone("Asia/Tokyo", 9*3600)

	sms, _ := set.Render("en", []string{"sms", "default"}, data, tokyo)
	fmt.Printf("[%s] %s\n", sms.Section, sms.Text)

	wa, _ := set.Render("en", []string{"whatsapp", "default"}, data, tokyo)
	fmt.Println(wa.Template.Name, wa.Template.Language, wa.Template.Params)

	_, err = set.Render("en", []string{"default"}, map[string]any{"name": "Ann"}, nil)
	fmt.Println(filepath.Base(err.Error()))
	// Output:
	// [default] Hi Ann, order A-17 arrives on November 24, 2026.
	// shipment_delay en [Ann A-17]
	// en.toml:3: [default] text: map has no entry for key "order_id" (in {{.order_id}})
}

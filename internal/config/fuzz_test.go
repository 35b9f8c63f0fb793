package config

import (
	"strings"
	"testing"
)

// FuzzParse: any configuration text loads or gives errors naming where;
// never a panic. The kept corpus starts from example.yaml.
func FuzzParse(f *testing.F) {
	f.Add(Example)
	f.Add([]byte("mail:\n  log_file: /var/log/mail.log\n  volume: {messages: {1h: 100}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// A secret {file: PATH} is read: keep the fuzzer off special files.
		if strings.Contains(string(b), "/dev") || strings.Contains(string(b), "/proc") {
			return
		}
		cfg, err := Parse("fuzz.yaml", b)
		if err == nil && cfg == nil {
			t.Fatal("no config and no error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("an empty error")
		}
	})
}

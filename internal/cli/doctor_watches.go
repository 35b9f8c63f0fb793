package cli

import (
	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/doctor"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/webapps"
)

// watchDoctors are the watches' own doctors.
func watchDoctors() []doctor.Func {
	return []doctor.Func{mail.Doctor, blocklist.Doctor, webapps.Doctor, ct.Doctor}
}

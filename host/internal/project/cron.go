package project

import (
	"errors"
	"strings"

	"github.com/robfig/cron/v3"
)

// Schedule tells when a cron job runs next.
type Schedule = cron.Schedule

// scheduleParser reads the five standard fields: minute, hour, day of
// month, month, day of week.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// ParseSchedule parses a cron job's schedule as Vercel accepts it: five
// fields in UTC, numbers with * , - and /, at most 256 characters; names
// such as MON or JAN and descriptors such as @daily are refused, as
// Vercel refuses them (vercel.com/docs/cron-jobs#cron-expressions).
func ParseSchedule(expr string) (Schedule, error) {
	if len(expr) > 256 {
		return nil, errors.New("longer than 256 characters")
	}
	if strings.ContainsFunc(expr, func(r rune) bool { return !strings.ContainsRune("0123456789*,-/ ", r) }) {
		return nil, errors.New("want five fields of digits and * , - / (no names, no @ descriptors)")
	}
	return scheduleParser.Parse(expr)
}

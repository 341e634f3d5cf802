package bench

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Table is a titled grid of cells, printed as aligned plain text or as
// Markdown. A row whose only cell starts with "## " is a section heading.
type Table struct {
	Header []string
	Rows   [][]string
	Notes  []string // printed under the table
}

// Section starts a new section of rows.
func (t *Table) Section(title string) { t.Rows = append(t.Rows, []string{"## " + title}) }

// Add appends a row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// Note appends a line printed under the table.
func (t *Table) Note(format string, args ...any) {
	t.Notes = append(t.Notes, fmt.Sprintf(format, args...))
}

func isSection(row []string) bool { return len(row) == 1 && strings.HasPrefix(row[0], "## ") }

// WriteText prints the table as plain text, columns padded to align.
func (t *Table) WriteText(w io.Writer) error {
	width := make([]int, len(t.Header))
	grow := func(row []string) {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	grow(t.Header)
	for _, r := range t.Rows {
		if !isSection(r) {
			grow(r)
		}
	}
	var b strings.Builder
	line := func(row []string) {
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
			}
		}
		b.WriteString("\n")
	}
	line(t.Header)
	total := 2 * (len(width) - 1)
	for _, n := range width {
		total += n
	}
	b.WriteString(strings.Repeat("-", total) + "\n")
	for _, r := range t.Rows {
		if isSection(r) {
			b.WriteString(strings.TrimPrefix(r[0], "## ") + "\n")
			continue
		}
		line(r)
	}
	for _, n := range t.Notes {
		b.WriteString(n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown prints the table as Markdown; a section becomes a bold
// row.
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	cols := len(t.Header)
	row := func(cells []string) {
		b.WriteString("|")
		for i := range cols {
			c := ""
			if i < len(cells) {
				c = strings.ReplaceAll(cells[i], "|", `\|`)
			}
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|" + strings.Repeat("---|", cols) + "\n")
	for _, r := range t.Rows {
		if isSection(r) {
			row([]string{"**" + strings.TrimPrefix(r[0], "## ") + "**"})
			continue
		}
		row(r)
	}
	if len(t.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range t.Notes {
			b.WriteString(n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

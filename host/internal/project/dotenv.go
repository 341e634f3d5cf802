package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/joho/godotenv"
)

// ReadDotenv reads dir/.env with godotenv, the Go port of the dotenv
// npm package's format: KEY=VALUE lines, # comments, an optional
// "export ", single, double or unquoted values, double-quoted ones over
// several lines (a PEM key) with \n escapes. A missing file is no error;
// a malformed one is, naming the file.
//
// Where godotenv differs from npm dotenv 17 (TestDotenvMatchesNPM
// shows the cases where they agree): in double quotes it also reads \t,
// \\ and \" escapes (npm keeps them as written), it expands ${VAR} and
// $VAR (npm does not), and it keeps backquotes (npm strips them).
func ReadDotenv(dir string) (map[string]string, error) {
	path := filepath.Join(dir, ".env")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env, err := godotenv.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return env, nil
}

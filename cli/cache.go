package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wfn-dev/wfn/host"
)

// ErrPurge is returned by wfn cache purge when the host refuses or fails.
var ErrPurge = errors.New("wfn: purge failed")

// purgeTokenEnv holds the purge token for wfn serve (--purge-token) and
// wfn cache purge (--token).
const purgeTokenEnv = "WFN_PURGE_TOKEN"

func cacheCommand(stdout io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "cache",
		Usage: "operate the caches of a running wfn serve",
		Subcommands: []*cli.Command{{
			Name:  "purge",
			Usage: "invalidate (or delete) cached content by tag or source image, in the CDN cache and the Runtime Cache",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "url", Value: "http://127.0.0.1:3000", Usage: "the running wfn serve"},
				&cli.StringFlag{Name: "token", EnvVars: []string{purgeTokenEnv}, Usage: "the server's --purge-token, sent as Authorization: Bearer (prefer the environment variable: a flag shows in ps)"},
				&cli.StringSliceFlag{Name: "tag", Usage: "a cache tag (repeatable)"},
				&cli.StringSliceFlag{Name: "src-image", Usage: "a source image path (repeatable)"},
				&cli.BoolFlag{Name: "delete", Usage: "delete instead of marking stale: the next request refreshes in the foreground"},
				&cli.DurationFlag{Name: "revalidation-deadline", Usage: "with --delete: serve stale content, refreshed in the background, until this has passed"},
			},
			Action: func(c *cli.Context) error {
				req := host.PurgeRequest{
					Tags:                        c.StringSlice("tag"),
					SrcImages:                   c.StringSlice("src-image"),
					Delete:                      c.Bool("delete"),
					RevalidationDeadlineSeconds: int64(c.Duration("revalidation-deadline").Round(time.Second) / time.Second),
				}
				if len(req.Tags) == 0 && len(req.SrcImages) == 0 {
					return fmt.Errorf("wfn: cache purge: give --tag or --src-image")
				}
				if req.RevalidationDeadlineSeconds > 0 && !req.Delete {
					return fmt.Errorf("wfn: cache purge: --revalidation-deadline goes with --delete")
				}
				body, _ := json.Marshal(req)
				hreq, err := http.NewRequestWithContext(c.Context, http.MethodPost, strings.TrimSuffix(c.String("url"), "/")+"/_wfn/cache/purge", bytes.NewReader(body))
				if err != nil {
					return fmt.Errorf("wfn: cache purge: %w", err)
				}
				hreq.Header.Set("Content-Type", "application/json")
				if token := c.String("token"); token != "" {
					hreq.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(hreq)
				if err != nil {
					return fmt.Errorf("wfn: cache purge: %w", err)
				}
				defer resp.Body.Close()
				msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("%w: %s: %s", ErrPurge, resp.Status, strings.TrimSpace(string(msg)))
				}
				what := "invalidated"
				if req.Delete {
					what = "deleted"
				}
				_, err = fmt.Fprintf(stdout, "%s: tags %q, source images %q\n", what, req.Tags, req.SrcImages)
				return err
			},
		}},
	}
}

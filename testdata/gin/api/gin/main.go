// Function gin serves a gin app through wfnhttp, as frameworks use the
// adapter: /api/gin streams three server-sent events with c.Stream (which
// asserts http.CloseNotifier), and /api/gin?echo=1 binds a JSON body and
// answers it back.
package main

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/wfn-dev/wfn/guests/sdk/go/wfn/wfnhttp"
)

func init() {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/api/gin", func(c *gin.Context) {
		n := 0
		c.Stream(func(w io.Writer) bool {
			n++
			c.SSEvent("tick", n)
			return n < 3
		})
	})
	r.POST("/api/gin", func(c *gin.Context) {
		var v struct {
			Name string `json:"name" binding:"required"`
		}
		if err := c.ShouldBindJSON(&v); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": "invalid request"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"hello": v.Name})
	})
	wfnhttp.Handle(r)
}

func main() {}

package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openapiJSON is the hand-written OpenAPI 3 description of the API. A test
// checks it against the route table in both directions.
//
//go:embed openapi.json
var openapiJSON []byte

func (s *server) openapi(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openapiJSON)
}

package gotify
import (
	_ "github.com/gotify/server/v2/api/stream"
	_ "github.com/gotify/server/v2/auth"
	_ "github.com/gotify/server/v2/model"
	_ "github.com/gotify/server/v2/api"
	_ "github.com/gotify/server/v2/error"
)

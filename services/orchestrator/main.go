// Command orchestrator runs the vds orchestrator service alone.
package main

import (
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/services/orchestrator/server"
)

func main() { platform.Main(server.Service()) }

// Command causal runs the vds causal service alone.
package main

import (
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/services/causal/server"
)

func main() { platform.Main(server.Service()) }

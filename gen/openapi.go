package gen

import _ "embed"

// OpenAPI is the OpenAPI (Swagger 2.0) document of the REST gateway, generated from proto/.
//
//go:embed openapi/vds.swagger.json
var OpenAPI []byte

module github.com/vdsproject/vds/libs

go 1.26.0

replace github.com/vdsproject/vds/gen => ../gen

require github.com/apache/arrow-go/v18 v18.9.0 // indirect

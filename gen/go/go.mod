// The generated Go package of the mirnet API (buf.gen.go.yaml): import
// github.com/mirnet/mirnet/gen/go/mirnet/v1. Its own module, so a Go program
// depends on the stubs only, not on the TypeScript daemon.
module github.com/mirnet/mirnet/gen/go

go 1.19

require (
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)

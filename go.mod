module kiln.dev/kiln

go 1.26.8

require (
	github.com/pmezard/go-difflib v1.0.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/sys v0.50.0
)

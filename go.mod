module github.com/pgm-explorer/pgm-explorer

go 1.26

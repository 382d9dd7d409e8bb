package main

import (
	"context"
	"errors"

	"github.com/hookrelay/hookrelay/store"
)

func openPostgres(ctx context.Context, url string) (store.Store, error) {
	return nil, errors.New("postgres: not supported by this build yet")
}

func resetPostgres(ctx context.Context, url string) error {
	return errors.New("postgres: not supported by this build yet")
}

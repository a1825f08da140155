package main

import "context"

func benchReconnect(ctx context.Context, t *tb, o opts, sc scale, r *report) {}
func benchServer(ctx context.Context, t *tb, o opts, sc scale, r *report)    {}

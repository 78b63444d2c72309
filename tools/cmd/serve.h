/*
 * serve.h - what serve.c (the exporter: segments, connections, /metrics)
 * gives serve_api.c (the JSON API, /api/v1/...). Both run on MHD's one
 * polling thread: no lock.
 */
#ifndef SHMSTAT_SERVE_H
#define SHMSTAT_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "mhd.h"

#include "shmstat.h"

/* The segments served, looked up again in /dev/shm when serve was given
 * none (as a scrape does); their count. */
size_t serve_refresh(void);
/* Name of served segment @k (< serve_refresh()'s count). */
const char *serve_segment(size_t k);
/* Index of served segment @name, or -1. */
long serve_find(const char *name);
/* A fresh snapshot of served segment @k, NULL when it cannot be read
 * (the caller frees it). */
shmstat_snap *serve_snapshot(size_t k);
/* Why serve_snapshot(@k) last returned NULL ("/dev/shm/shmstat.NAME: No
 * such file or directory", the library's error). */
const char *serve_snapshot_error(size_t k);

/* History files serve was given (--history): how many, the name the API
 * knows each by (its file name without directory), its path. */
size_t serve_histories(void);
const char *serve_history_name(size_t k);
/* Each history file can be opened now: EXIT_OK, or EXIT_ERR (said):
 * one that does not exist, is another user's, no history file... */
int serve_histories_check(void);
const char *serve_history_path(size_t k);

/* --max-bytes: the most bytes of an answer, /metrics or /api/v1/ */
uint64_t serve_max_bytes(void);

/* Answer GET @url under /api/v1/ (serve_api.c). */
enum MHD_Result api_handle(struct MHD_Connection *c, const char *url);

#endif

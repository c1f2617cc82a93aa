// SPDX-License-Identifier: GPL-2.0-only
/*
 * A small write-back cache of metadata tables (L2 tables, refcount blocks),
 * one cluster each, least recently used out first. A dirty entry is only
 * written after before_write() has put on disk what it depends on: an L2
 * table may point to a new cluster only once that cluster's refcount is on
 * disk (see qcow2.c, "write order").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

int qcow2_cache_init(struct qcow2_cache *c, unsigned int count,
		     uint64_t cluster_size, int (*before_write)(struct qcow2 *))
{
	unsigned int i;

	c->entries = calloc(count, sizeof(*c->entries));
	if (!c->entries)
		return -ENOMEM;
	c->count = count;
	c->tick = 0;
	c->before_write = before_write;
	for (i = 0; i < count; i++) {
		c->entries[i].data = malloc(cluster_size);
		if (!c->entries[i].data)
			return -ENOMEM;
	}
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	unsigned int i;

	if (!c->entries)
		return;
	for (i = 0; i < c->count; i++)
		free(c->entries[i].data);
	free(c->entries);
	c->entries = NULL;
}

static int write_entry(struct qcow2 *q, struct qcow2_cache *c,
		       struct qcow2_cache_entry *e)
{
	int ret;

	if (c->before_write) {
		ret = c->before_write(q);
		if (ret)
			return ret;
	}
	ret = bfile_pwrite(q->blk.file, e->data, q->cluster_size, e->offset);
	if (!ret)
		e->dirty = false;
	return ret;
}

int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset,
		    bool fresh, void **table)
{
	struct qcow2_cache_entry *e, *victim = NULL;
	unsigned int i;
	int ret;

	for (i = 0; i < c->count; i++) {
		e = &c->entries[i];
		if (e->offset == offset) {
			e->used = ++c->tick;
			if (fresh) {
				memset(e->data, 0, q->cluster_size);
				e->dirty = true;
			}
			*table = e->data;
			return 0;
		}
		if (!victim || !e->offset ||
		    (victim->offset && e->used < victim->used))
			victim = e;
	}
	if (victim->offset && victim->dirty) {
		/* all of them: one before_write() (a sync) for the lot */
		ret = qcow2_cache_write(q, c, NULL);
		if (ret)
			return ret;
	}
	victim->offset = 0;
	if (fresh) {
		memset(victim->data, 0, q->cluster_size);
		victim->dirty = true;
	} else {
		ret = bfile_pread(q->blk.file, victim->data, q->cluster_size,
				  offset);
		if (ret)
			return ret;
		victim->dirty = false;
	}
	victim->offset = offset;
	victim->used = ++c->tick;
	*table = victim->data;
	return 0;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, void *table)
{
	unsigned int i;

	for (i = 0; i < c->count; i++)
		if (c->entries[i].data == table)
			c->entries[i].dirty = true;
}

int qcow2_cache_write(struct qcow2 *q, struct qcow2_cache *c, bool *wrote)
{
	unsigned int i;
	int ret;

	for (i = 0; i < c->count; i++) {
		struct qcow2_cache_entry *e = &c->entries[i];

		if (!e->offset || !e->dirty)
			continue;
		ret = write_entry(q, c, e);
		if (ret)
			return ret;
		if (wrote)
			*wrote = true;
	}
	return 0;
}

void qcow2_cache_forget(struct qcow2_cache *c, uint64_t offset)
{
	unsigned int i;

	for (i = 0; i < c->count; i++)
		if (c->entries[i].offset == offset) {
			c->entries[i].offset = 0;
			c->entries[i].dirty = false;
		}
}

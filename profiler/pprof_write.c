/* pprof_write.c - see pprof.h: a built profile (pprof_int.h) written as gzipped
 * profile.proto.
 *
 * The encoding is protobuf's wire format for the message types of pprof's
 * proto/profile.proto that we write, by hand (profiler/README.md says why not protobuf-c):
 *
 *   key      varint (field << 3 | wire type); wire type 0 = varint, 2 = length-delimited
 *   varint   7 bits a byte, least significant first, high bit = more bytes follow; an
 *            int64 is its two's complement as uint64 (negative: 10 bytes)
 *   len      key, varint byte count, the bytes (a string, a nested message, or the
 *            varints of a packed repeated field)
 *
 *   Profile    1 sample_type (ValueType)*, 2 sample (Sample)*, 3 mapping*, 4 location*,
 *              5 function*, 6 string_table (string)*, 9 time_nanos, 10 duration_nanos,
 *              11 period_type (ValueType), 12 period
 *   ValueType  1 type, 2 unit                              (string table indices)
 *   Sample     1 location_id (packed uint64), 2 value (packed int64), 3 label (Label)*
 *   Label      1 key, 2 str, 3 num, 4 num_unit             (key, str, num_unit: indices)
 *   Mapping    1 id, 2 memory_start, 3 memory_limit, 4 file_offset, 5 filename,
 *              6 build_id, 7 has_functions, 8 has_filenames, 9 has_line_numbers,
 *              10 has_inline_frames
 *   Location   1 id, 2 mapping_id, 3 address, 4 line (Line)*
 *   Line       1 function_id, 2 line
 *   Function   1 id, 2 name, 3 system_name, 4 filename
 *
 * Scalar fields equal to 0 are left out (proto3: absent reads as 0); repeated ones are
 * always written, string_table[0] = "" included.
 */
#include "pprof_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Encoding. A buf holds one message being built; nested messages are built in their own
 * buf and appended with their length. */
struct buf {
	uint8_t *d;
	size_t len, cap;
	int err;
};

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

static void reserve(struct buf *b, size_t n)
{
	size_t ncap = b->cap ? b->cap : 256;
	uint8_t *d;

	if (b->err || b->len + n <= b->cap)
		return;
	while (ncap < b->len + n)
		ncap *= 2;
	d = realloc(b->d, ncap);
	if (!d) {
		b->err = -ENOMEM;
		return;
	}
	b->d = d;
	b->cap = ncap;
}

static void varint(struct buf *b, uint64_t v)
{
	reserve(b, 10);
	if (b->err)
		return;
	while (v >= 0x80) {
		b->d[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->d[b->len++] = (uint8_t)v;
}

static void key(struct buf *b, unsigned int field, unsigned int wire)
{
	varint(b, (uint64_t)field << 3 | wire);
}

/* A scalar field; 0 is the default and is left out. */
static void field_u64(struct buf *b, unsigned int field, uint64_t v)
{
	if (!v)
		return;
	key(b, field, WIRE_VARINT);
	varint(b, v);
}

static void field_bytes(struct buf *b, unsigned int field, const void *d, size_t n)
{
	key(b, field, WIRE_LEN);
	varint(b, n);
	reserve(b, n);
	if (b->err || !n)
		return;
	memcpy(b->d + b->len, d, n);
	b->len += n;
}

static void field_msg(struct buf *b, unsigned int field, struct buf *m)
{
	if (m->err)
		b->err = m->err;
	field_bytes(b, field, m->d, m->len);
}

/* The gzip stream the top-level fields go to. */
struct out {
	z_stream z;
	FILE *f;
	uint8_t chunk[1 << 16];
	int err;
};

static void out_bytes(struct out *w, const void *d, size_t n, int flush)
{
	int rc;

	w->z.next_in = (Bytef *)(uintptr_t)d;
	w->z.avail_in = (uInt)n;
	/* Until the input is consumed (the output buffer is not filled) and, when
	 * finishing, until the stream's end is out. */
	do {
		w->z.next_out = w->chunk;
		w->z.avail_out = sizeof(w->chunk);
		rc = deflate(&w->z, flush);
		if (rc == Z_STREAM_ERROR) {
			w->err = -EIO;
			return;
		}
		n = sizeof(w->chunk) - w->z.avail_out;
		if (n && fwrite(w->chunk, 1, n, w->f) != n) {
			w->err = -EIO;
			return;
		}
	} while (w->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
}

/* Writes the message in m as top-level field `field`, then empties m. */
static void out_msg(struct out *w, unsigned int field, struct buf *m)
{
	struct buf hdr = {0};
	uint8_t h[16];

	if (m->err && !w->err)
		w->err = m->err;
	if (w->err)
		return;
	hdr.d = h;
	hdr.cap = sizeof(h);
	key(&hdr, field, WIRE_LEN);
	varint(&hdr, m->len);
	out_bytes(w, h, hdr.len, Z_NO_FLUSH);
	if (!w->err && m->len)
		out_bytes(w, m->d, m->len, Z_NO_FLUSH);
	m->len = 0;
}

static void value_type(struct buf *m, const int64_t idx[2])
{
	field_u64(m, 1, (uint64_t)idx[0]);
	field_u64(m, 2, (uint64_t)idx[1]);
}

static void write_samples(heed_pprof *p, struct out *w, struct buf *m, struct buf *sub)
{
	for (size_t i = 0; i < p->samples.n && !w->err; i++) {
		const struct sample *s = &p->samples.v[i];

		sub->len = 0;
		for (uint32_t j = 0; j < s->nlocs; j++)
			varint(sub, p->locids.v[s->loc_off + j]);
		if (s->nlocs)
			field_msg(m, 1, sub);
		sub->len = 0;
		for (size_t j = 0; j < p->nvalues; j++)
			varint(sub, (uint64_t)p->vals.v[i * p->nvalues + j]);
		field_msg(m, 2, sub);
		for (uint32_t j = 0; j < s->nlabels; j++) {
			const struct label *l = &p->labels.v[s->lab_off + j];

			sub->len = 0;
			field_u64(sub, 1, (uint64_t)l->key);
			field_u64(sub, 2, (uint64_t)l->str);
			field_u64(sub, 3, (uint64_t)l->num);
			field_u64(sub, 4, (uint64_t)l->unit);
			field_msg(m, 3, sub);
		}
		out_msg(w, 2, m);
	}
}

static void write_tables(heed_pprof *p, struct out *w, struct buf *m, struct buf *sub)
{
	for (size_t i = 0; i < p->maps.n && !w->err; i++) {
		const struct mapping *r = &p->maps.v[i];

		field_u64(m, 1, i + 1);
		field_u64(m, 2, r->start);
		field_u64(m, 3, r->limit);
		field_u64(m, 4, r->offset);
		field_u64(m, 5, (uint64_t)r->file);
		field_u64(m, 6, (uint64_t)r->build_id);
		field_u64(m, 7, !!(r->flags & HEED_PPROF_HAS_FUNCTIONS));
		field_u64(m, 8, !!(r->flags & HEED_PPROF_HAS_FILENAMES));
		field_u64(m, 9, !!(r->flags & HEED_PPROF_HAS_LINE_NUMBERS));
		field_u64(m, 10, !!(r->flags & HEED_PPROF_HAS_INLINE_FRAMES));
		out_msg(w, 3, m);
	}
	for (size_t i = 0; i < p->locs.n && !w->err; i++) {
		const struct loc *l = &p->locs.v[i];

		field_u64(m, 1, i + 1);
		field_u64(m, 2, l->mapping);
		field_u64(m, 3, l->addr);
		for (uint32_t j = 0; j < l->nlines; j++) {
			const struct line *ln = &p->lines.v[l->line_off + j];

			sub->len = 0;
			field_u64(sub, 1, ln->func);
			field_u64(sub, 2, (uint64_t)ln->line);
			field_msg(m, 4, sub);
		}
		out_msg(w, 4, m);
	}
	for (size_t i = 0; i < p->funcs.n && !w->err; i++) {
		const struct func *f = &p->funcs.v[i];

		field_u64(m, 1, i + 1);
		field_u64(m, 2, (uint64_t)f->name);
		field_u64(m, 3, (uint64_t)f->sys);
		field_u64(m, 4, (uint64_t)f->file);
		out_msg(w, 5, m);
	}
	for (size_t i = 0; i < p->strs.n && !w->err; i++) {
		const struct str *s = &p->strs.v[i];

		m->len = 0;
		reserve(m, s->len);
		if (!m->err && s->len)
			memcpy(m->d, p->chars.v + s->off, s->len);
		m->len = s->len;
		out_msg(w, 6, m);
	}
}

int heed_pprof_write(heed_pprof *p, FILE *out)
{
	struct buf m = {0}, sub = {0};
	struct out *w;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->f = out;
	/* windowBits 15 + 16: a gzip header and trailer around the deflate stream. */
	if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(w);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->nvalues && !w->err; i++) {
		value_type(&m, p->type_idx[i]);
		out_msg(w, 1, &m);
	}
	write_samples(p, w, &m, &sub);
	write_tables(p, w, &m, &sub);
	if (!w->err) {
		field_u64(&m, 9, (uint64_t)p->o.time_nanos);
		field_u64(&m, 10, (uint64_t)p->o.duration_nanos);
		if (p->period_idx[0]) {
			sub.len = 0;
			value_type(&sub, p->period_idx);
			field_msg(&m, 11, &sub);
			field_u64(&m, 12, (uint64_t)p->o.period);
		}
		if (m.err)
			w->err = m.err;
		else
			out_bytes(w, m.d, m.len, Z_FINISH);
	}
	err = w->err;
	if (!err && fflush(out) != 0)
		err = -EIO;
	deflateEnd(&w->z);
	free(w);
	free(m.d);
	free(sub.d);
	return err;
}

int heed_pprof_write_file(heed_pprof *p, const char *path)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + 16);
	FILE *f = NULL;
	int fd, err = 0;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".tmp.XXXXXX", 12);
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	/* mkstemp makes it 0600; a profile is as readable as any file we write. */
	if (fchmod(fd, 0644) != 0) {
		err = -errno;
		close(fd);
		goto cleanup_unlink;
	}
	f = fdopen(fd, "wb");
	if (!f) {
		err = -errno;
		close(fd);
		goto cleanup_unlink;
	}
	err = heed_pprof_write(p, f);
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
cleanup_unlink:
	if (err)
		unlink(tmp);
cleanup:
	free(tmp);
	return err;
}

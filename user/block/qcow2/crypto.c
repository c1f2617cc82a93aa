// SPDX-License-Identifier: GPL-2.0-only
/*
 * Encryption as QEMU does it in qcow2 with encrypt.format=luks (spec
 * "Header extensions", Full disk encryption header pointer; the LUKS1
 * on-disk format specification, version 1.2.3): a LUKS1 header and its
 * key material live in clusters of the image that the extension points
 * to; every data cluster is encrypted sector by sector (512 bytes) with the
 * master key, the IV of a sector being its host offset / 512 (QEMU sets
 * crypt_physical_offset for LUKS), as a 64-bit little-endian number
 * (plain64). Only aes-xts-plain64 is supported, which is what QEMU
 * creates by default.
 *
 * All cryptography is libgcrypt's: AES-XTS, PBKDF2, the hashes, random
 * numbers. This file only parses the header and does LUKS's
 * anti-forensic merge and split, which are a hash construction, not a
 * cipher.
 */
#include <endian.h>
#include <errno.h>
#include <gcrypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../error.h"
#include "../file.h"
#include "qcow2.h"

#define LUKS_MAGIC		"LUKS\xba\xbe"
#define LUKS_HDR_SIZE		592
#define LUKS_SLOTS		8
#define LUKS_SLOT_ACTIVE	0x00ac71f3u
#define LUKS_SLOT_INACTIVE	0x0000deadu
#define LUKS_STRIPES		4000
#define LUKS_DIGEST		20
#define LUKS_SALT		32
#define LUKS_SECTOR		512

struct luks_slot {
	uint32_t active;
	uint32_t iterations;
	uint8_t salt[LUKS_SALT];
	uint32_t key_offset;	/* sectors from the header's start */
	uint32_t stripes;
};

struct luks_header {
	char cipher[33], mode[33], hash[33];
	uint32_t payload_offset, key_bytes;
	uint8_t mk_digest[LUKS_DIGEST], mk_salt[LUKS_SALT];
	uint32_t mk_iterations;
	struct luks_slot slots[LUKS_SLOTS];
};

static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;

static void gcrypt_init(void)
{
	gcry_check_version(NULL);
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static void decode(struct luks_header *h, const uint8_t *p)
{
	int i;

	memcpy(h->cipher, p + 8, 32);
	h->cipher[32] = '\0';
	memcpy(h->mode, p + 40, 32);
	h->mode[32] = '\0';
	memcpy(h->hash, p + 72, 32);
	h->hash[32] = '\0';
	h->payload_offset = get32(p + 104);
	h->key_bytes = get32(p + 108);
	memcpy(h->mk_digest, p + 112, LUKS_DIGEST);
	memcpy(h->mk_salt, p + 132, LUKS_SALT);
	h->mk_iterations = get32(p + 164);
	for (i = 0; i < LUKS_SLOTS; i++) {
		const uint8_t *s = p + 208 + 48 * i;

		h->slots[i].active = get32(s);
		h->slots[i].iterations = get32(s + 4);
		memcpy(h->slots[i].salt, s + 8, LUKS_SALT);
		h->slots[i].key_offset = get32(s + 40);
		h->slots[i].stripes = get32(s + 44);
	}
}

/* One block of XTS-plain64: LEN bytes (whole sectors) at sector SECTOR. */
static int xts(gcry_cipher_hd_t c, uint8_t *buf, size_t len, uint64_t sector,
	       bool enc)
{
	uint8_t iv[16] = { 0 };
	uint64_t le;
	size_t i;

	for (i = 0; i < len; i += LUKS_SECTOR, sector++) {
		le = htole64(sector);
		memcpy(iv, &le, 8);
		if (gcry_cipher_setiv(c, iv, sizeof(iv)))
			return -EIO;
		if ((enc ? gcry_cipher_encrypt(c, buf + i, LUKS_SECTOR, NULL, 0) :
			   gcry_cipher_decrypt(c, buf + i, LUKS_SECTOR, NULL, 0)))
			return -EIO;
	}
	return 0;
}

static int open_cipher(gcry_cipher_hd_t *c, const uint8_t *key, size_t len)
{
	int algo = len == 32 ? GCRY_CIPHER_AES128 : GCRY_CIPHER_AES256;

	if (gcry_cipher_open(c, algo, GCRY_CIPHER_MODE_XTS, 0))
		return -EIO;
	if (gcry_cipher_setkey(*c, key, len)) {
		gcry_cipher_close(*c);
		return -EIO;
	}
	return 0;
}

/* LUKS "diffuse": each hash-sized piece replaced by H(index || piece). */
static void diffuse(int md, uint8_t *b, size_t len)
{
	size_t hlen = gcry_md_get_algo_dlen(md), i, n;
	uint8_t out[64];
	gcry_md_hd_t h;
	uint32_t be;

	for (i = 0; i * hlen < len; i++) {
		n = len - i * hlen < hlen ? len - i * hlen : hlen;
		gcry_md_open(&h, md, 0);
		be = htobe32(i);
		gcry_md_write(h, &be, 4);
		gcry_md_write(h, b + i * hlen, n);
		memcpy(out, gcry_md_read(h, md), hlen);
		gcry_md_close(h);
		memcpy(b + i * hlen, out, n);
	}
}

/* anti-forensic merge: the key from STRIPES blocks of LEN bytes */
static void af_merge(int md, const uint8_t *src, size_t len,
		     uint32_t stripes, uint8_t *key)
{
	uint32_t s;
	size_t i;

	memset(key, 0, len);
	for (s = 0; s < stripes; s++) {
		for (i = 0; i < len; i++)
			key[i] ^= src[s * len + i];
		if (s + 1 < stripes)
			diffuse(md, key, len);
	}
}

struct qcow2_crypto {
	gcry_cipher_hd_t cipher;
	pthread_mutex_t lock;
	uint8_t key[64];
	size_t key_len;
};

static int check_header(struct qcow2 *q, const struct luks_header *h,
			int *md)
{
	const char *f = q->blk.filename;
	uint64_t material, end;
	int i;

	if (strcmp(h->cipher, "aes") || strcmp(h->mode, "xts-plain64"))
		return blk_fail(ENOTSUP, f,
				"LUKS cipher %s-%s is not supported (aes-xts-plain64 only)",
				h->cipher, h->mode);
	if (h->key_bytes != 32 && h->key_bytes != 64)
		return blk_fail(EINVAL, f, "LUKS key size %u invalid",
				h->key_bytes);
	*md = gcry_md_map_name(h->hash);
	if (!*md || gcry_md_get_algo_dlen(*md) > 64)
		return blk_fail(ENOTSUP, f, "LUKS hash '%s' is not supported",
				h->hash);
	if (!h->mk_iterations)
		return blk_fail(EINVAL, f, "LUKS master key iterations are 0");
	for (i = 0; i < LUKS_SLOTS; i++) {
		const struct luks_slot *s = &h->slots[i];

		if (s->active != LUKS_SLOT_ACTIVE)
			continue;
		material = (uint64_t)h->key_bytes * s->stripes;
		end = (uint64_t)s->key_offset * LUKS_SECTOR + material;
		if (s->stripes != LUKS_STRIPES || !s->iterations ||
		    (uint64_t)s->key_offset * LUKS_SECTOR < LUKS_HDR_SIZE ||
		    end > q->crypto_length)
			return blk_fail(EINVAL, f,
					"LUKS key slot %d invalid (stripes, iterations or key material outside the header area)",
					i);
	}
	return 0;
}

static int try_slot(struct qcow2 *q, const struct luks_header *h, int md,
		    int slot, const void *pass, size_t pass_len, uint8_t *key)
{
	const struct luks_slot *s = &h->slots[slot];
	size_t material = (size_t)h->key_bytes * s->stripes;
	uint8_t derived[64], digest[LUKS_DIGEST];
	gcry_cipher_hd_t c;
	uint8_t *buf;
	int ret;

	buf = malloc(qcow2_align_up(material, LUKS_SECTOR));
	if (!buf)
		return -ENOMEM;
	ret = bfile_pread(q->blk.file, buf, qcow2_align_up(material, LUKS_SECTOR),
			  q->crypto_offset + (uint64_t)s->key_offset * LUKS_SECTOR);
	if (!ret && gcry_kdf_derive(pass, pass_len, GCRY_KDF_PBKDF2, md,
				    s->salt, LUKS_SALT, s->iterations,
				    h->key_bytes, derived))
		ret = -EIO;
	if (!ret)
		ret = open_cipher(&c, derived, h->key_bytes);
	if (!ret) {
		ret = xts(c, buf, qcow2_align_up(material, LUKS_SECTOR), 0, false);
		gcry_cipher_close(c);
	}
	if (!ret) {
		af_merge(md, buf, h->key_bytes, s->stripes, key);
		if (gcry_kdf_derive(key, h->key_bytes, GCRY_KDF_PBKDF2, md,
				    h->mk_salt, LUKS_SALT, h->mk_iterations,
				    LUKS_DIGEST, digest))
			ret = -EIO;
		else if (memcmp(digest, h->mk_digest, LUKS_DIGEST))
			ret = 1;	/* not this slot */
	}
	free(buf);
	return ret;
}

int qcow2_crypto_open(struct qcow2 *q)
{
	const char *f = q->blk.filename;
	struct luks_header h;
	uint8_t raw[LUKS_HDR_SIZE], key[64];
	struct qcow2_crypto *cr;
	const void *pass;
	size_t pass_len;
	int md = 0, i, ret;

	pthread_once(&gcrypt_once, gcrypt_init);
	if (!q->crypto_offset || q->crypto_length < LUKS_HDR_SIZE)
		return blk_fail(EINVAL, f,
				"encrypted, but no LUKS header (encryption header extension missing or too short)");
	if (q->crypto_offset % q->cluster_size ||
	    q->crypto_offset + q->crypto_length > q->file_end ||
	    q->crypto_offset + q->crypto_length < q->crypto_offset)
		return blk_fail(EINVAL, f,
				"LUKS header at 0x%llx (+%llu) is unaligned or past the end of the file",
				(unsigned long long)q->crypto_offset,
				(unsigned long long)q->crypto_length);
	ret = bfile_pread(q->blk.file, raw, sizeof(raw), q->crypto_offset);
	if (ret)
		return ret;
	if (memcmp(raw, LUKS_MAGIC, 6) || (get32(raw + 4) & 0xffff) != 1)
		return blk_fail(EINVAL, f, "LUKS header: bad magic or version");
	decode(&h, raw);
	ret = check_header(q, &h, &md);
	if (ret)
		return ret;
	if (!blk_secret(f, &pass, &pass_len))
		return blk_fail(ENOKEY, f,
				"the image is encrypted: a passphrase is needed (%s)",
				blk_secret_hint());
	ret = 1;
	for (i = 0; i < LUKS_SLOTS && ret == 1; i++)
		if (h.slots[i].active == LUKS_SLOT_ACTIVE)
			ret = try_slot(q, &h, md, i, pass, pass_len, key);
	if (ret == 1)
		return blk_fail(EKEYREJECTED, f, "wrong passphrase (no LUKS key slot opens)");
	if (ret)
		return blk_fail(-ret, f, "LUKS: cannot derive the key");
	cr = calloc(1, sizeof(*cr));
	if (!cr)
		return blk_fail(ENOMEM, f, "out of memory");
	memcpy(cr->key, key, h.key_bytes);
	cr->key_len = h.key_bytes;
	if (open_cipher(&cr->cipher, key, h.key_bytes)) {
		free(cr);
		return blk_fail(EIO, f, "LUKS: cannot set up the cipher");
	}
	pthread_mutex_init(&cr->lock, NULL);
	q->crypto = cr;
	return 0;
}

void qcow2_crypto_close(struct qcow2 *q)
{
	if (!q->crypto)
		return;
	gcry_cipher_close(q->crypto->cipher);
	pthread_mutex_destroy(&q->crypto->lock);
	memset(q->crypto->key, 0, sizeof(q->crypto->key));
	free(q->crypto);
	q->crypto = NULL;
}

/* LEN bytes (whole sectors) of data at host offset HOST, in place. */
int qcow2_crypt(struct qcow2 *q, void *buf, size_t len, uint64_t host,
		bool encrypt)
{
	int ret;

	pthread_mutex_lock(&q->crypto->lock);
	ret = xts(q->crypto->cipher, buf, len, host / LUKS_SECTOR, encrypt);
	pthread_mutex_unlock(&q->crypto->lock);
	if (ret)
		return blk_fail(EIO, q->blk.filename, "%s failed",
				encrypt ? "encryption" : "decryption");
	return 0;
}

/* PBKDF2-SHA256 iterations that take about MS milliseconds here. */
static uint32_t iterations_for(unsigned int ms)
{
	struct timespec t0, t1;
	uint8_t out[32];
	double took;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	gcry_kdf_derive("bench", 5, GCRY_KDF_PBKDF2, GCRY_MD_SHA256,
			"salt", 4, 20000, sizeof(out), out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (took <= 0)
		took = 1;
	return 20000.0 * ms / took;
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

/*
 * A LUKS1 header with key slot 0 for the passphrase, laid out as QEMU lays
 * it out in qcow2 (slot i's key material at sector 8 + 504 i of the area,
 * 4000 stripes of a 64-byte aes-256-xts-plain64 key, sha256), written at
 * OFFSET of F. The master key is new and random. ITER_MS is QEMU's
 * encrypt.iter-time: the slot's PBKDF2 takes about that long here.
 */
int qcow2_luks_format(struct bfile *f, uint64_t offset, unsigned int iter_ms)
{
	const size_t kb = 64, material = kb * LUKS_STRIPES;
	uint8_t hdr[4096] = { 0 }, mk[64], derived[64], d[64];
	uint8_t mk_salt[LUKS_SALT], slot_salt[LUKS_SALT], digest[LUKS_DIGEST];
	uint32_t rate, mk_iter, slot_iter, s;
	gcry_cipher_hd_t c;
	const void *pass;
	uint8_t *af, u[16];
	size_t pass_len, i;
	int ret;

	pthread_once(&gcrypt_once, gcrypt_init);
	if (!blk_secret(f->name, &pass, &pass_len))
		return blk_fail(ENOKEY, f->name,
				"encryption needs a passphrase (%s)",
				blk_secret_hint());
	af = malloc(material);
	if (!af)
		return blk_fail(ENOMEM, f->name, "out of memory");
	gcry_randomize(mk, sizeof(mk), GCRY_STRONG_RANDOM);
	gcry_randomize(mk_salt, sizeof(mk_salt), GCRY_STRONG_RANDOM);
	gcry_randomize(slot_salt, sizeof(slot_salt), GCRY_STRONG_RANDOM);
	gcry_randomize(u, sizeof(u), GCRY_STRONG_RANDOM);
	rate = iterations_for(iter_ms ? iter_ms : 2000);
	/* LUKS1: at least 1000 iterations; the digest an eighth of the slot */
	slot_iter = rate < 1000 ? 1000 : rate;
	mk_iter = rate / 8 < 1000 ? 1000 : rate / 8;
	ret = -EIO;
	if (gcry_kdf_derive(mk, kb, GCRY_KDF_PBKDF2, GCRY_MD_SHA256, mk_salt,
			    LUKS_SALT, mk_iter, LUKS_DIGEST, digest) ||
	    gcry_kdf_derive(pass, pass_len, GCRY_KDF_PBKDF2, GCRY_MD_SHA256,
			    slot_salt, LUKS_SALT, slot_iter, kb, derived))
		goto out;
	/* anti-forensic split: random stripes, the last one making the
	 * merge give the master key
	 */
	gcry_randomize(af, material - kb, GCRY_STRONG_RANDOM);
	memset(d, 0, sizeof(d));
	for (s = 0; s + 1 < LUKS_STRIPES; s++) {
		for (i = 0; i < kb; i++)
			d[i] ^= af[s * kb + i];
		diffuse(GCRY_MD_SHA256, d, kb);
	}
	for (i = 0; i < kb; i++)
		af[(LUKS_STRIPES - 1) * kb + i] = d[i] ^ mk[i];
	if (open_cipher(&c, derived, kb))
		goto out;
	ret = xts(c, af, material, 0, true);
	gcry_cipher_close(c);
	if (ret)
		goto out;
	memcpy(hdr, LUKS_MAGIC, 6);
	hdr[7] = 1;
	strcpy((char *)hdr + 8, "aes");
	strcpy((char *)hdr + 40, "xts-plain64");
	strcpy((char *)hdr + 72, "sha256");
	put32(hdr + 104, QCOW2_LUKS_AREA / LUKS_SECTOR);
	put32(hdr + 108, kb);
	memcpy(hdr + 112, digest, LUKS_DIGEST);
	memcpy(hdr + 132, mk_salt, LUKS_SALT);
	put32(hdr + 164, mk_iter);
	u[6] = (u[6] & 0x0f) | 0x40;	/* a version 4 (random) UUID */
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf((char *)hdr + 168, 40,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
	for (s = 0; s < LUKS_SLOTS; s++) {
		uint8_t *p = hdr + 208 + 48 * s;

		put32(p, s ? LUKS_SLOT_INACTIVE : LUKS_SLOT_ACTIVE);
		put32(p + 4, s ? 0 : slot_iter);
		if (!s)
			memcpy(p + 8, slot_salt, LUKS_SALT);
		put32(p + 40, 8 + s * 504);
		put32(p + 44, LUKS_STRIPES);
	}
	ret = bfile_pwrite(f, hdr, sizeof(hdr), offset);
	if (!ret)
		ret = bfile_pwrite(f, af, material, offset + 8 * LUKS_SECTOR);
out:
	if (ret == -EIO)
		ret = blk_fail(EIO, f->name, "LUKS: key derivation failed");
	memset(mk, 0, sizeof(mk));
	memset(derived, 0, sizeof(derived));
	free(af);
	return ret;
}

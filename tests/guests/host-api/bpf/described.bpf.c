// SPDX-License-Identifier: GPL-2.0
/* Fixture for self-describing records: a struct with a member of every
 * field kind (wasm-bpf-btf's records::Kind), with known values, which the
 * guest decodes through its generated `Described` impl and
 * `tests/host_api.rs` checks against the model's own description. */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

char LICENSE[] __attribute__((section("license"), used)) = "GPL";

enum color { RED = 1, BLUE = -1 };

struct pair {
	u8 a;
	u16 b;
};

struct every_kind {
	int i32;
	u64 u64;
	char text[6];
	_Bool flag;
	enum color color;
	float f32;
	double f64;
	short shorts[3];
	u32 words[2];
	struct pair pairs[2];
	struct pair inner;
	void *ptr;
	int low : 3;
	u32 high : 5;
};

struct every_kind described = {
	.i32 = -7,
	.u64 = 1ULL << 40,
	.text = "hey",
	.flag = 1,
	.color = BLUE,
	.f32 = 1.5,
	.f64 = -0.25,
	.shorts = { -1, 2, -3 },
	.words = { 9, 4000000000u },
	.pairs = { { 1, 2 }, { 3, 4 } },
	.inner = { 5, 600 },
	.ptr = 0,
	.low = -3,
	.high = 17,
};

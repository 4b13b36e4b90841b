/* Types for the C header generator's layout test (tests/c_layout.rs): the
 * BPF side puts them in BTF, a native program checks their layout with
 * the real compiler, and the same checks run over `wasm-bpf gen c`'s
 * header on x86_64 and wasm32. Kept free of kernel headers so that both
 * sides can include it. */
#ifndef LAYOUT_H
#define LAYOUT_H

enum mode { MODE_OFF, MODE_ON = 5, MODE_NEG = -2 };
enum big { BIG_SMALL = 1, BIG_HUGE = 0x100000000LL };

struct point {
	short x;
	long y;
};

struct with_bits {
	unsigned char tag;
	unsigned int low : 3;
	int signed_mid : 7;
	unsigned int : 4;
	unsigned int high : 11;
	unsigned long long wide : 40;
	enum mode mode_bits : 4;
	unsigned short after;
};

struct nested {
	char name[5];
	struct point origin;
	struct point path[3];
	int grid[2][3];
	union {
		unsigned int as_int;
		unsigned char as_bytes[6];
	} value;
	struct {
		char inline_a;
		long inline_b;
	};
	union {
		short alt_short;
		double alt_double;
	};
	void *ptr;
	const char *name_ptr;
	enum mode mode;
	enum big big;
	_Bool flag;
	float ratio;
	double precise;
	struct with_bits bits;
};

struct __attribute__((packed)) packed {
	char c;
	unsigned int i;
	unsigned long long l;
};

union choice {
	struct point p;
	unsigned long long raw;
	char text[13];
};

#endif

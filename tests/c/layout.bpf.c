// SPDX-License-Identifier: GPL-2.0
/* Puts the types of layout.h into BTF, as globals. */
#include "layout.h"

struct nested nested_global;
struct packed packed_global;
union choice choice_global;

char LICENSE[] __attribute__((section("license"), used)) = "GPL";

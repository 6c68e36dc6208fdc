/* fuzz_config.c - libFuzzer target for the config reader: ini text in,
 * every value checked, errors with line numbers, nothing leaked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char *text = xmalloc(size + 1), *errors = NULL;
	char *env[] = { NULL, NULL };

	memcpy(text, data, size);
	text[size] = '\0';
	config_init(&cfg);
	config_apply_ini(&cfg, text, "fuzz.ini", &errors);
	free(errors);
	/* The same bytes as one environment override. */
	env[0] = text;
	config_apply_env(&cfg, env, &errors);
	free(errors);
	config_check(&cfg, &errors);
	free(errors);
	config_release(&cfg);
	free(text);
	return 0;
}

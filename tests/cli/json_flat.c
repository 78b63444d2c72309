/*
 * json_flat.c - parse JSON on stdin with jansson (a real parser) and print
 * it flattened, one "path=value" line per scalar, for the CLI tests:
 *   metrics.0.name=cli_depth_max
 * Exit 1 with the parser's message on invalid JSON.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void flat(const char *path, json_t *v)
{
	char sub[512];

	if (json_is_object(v)) {
		const char *k;
		json_t *x;

		json_object_foreach(v, k, x) {
			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", k);
			flat(sub, x);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;

		json_array_foreach(v, i, x) {
			snprintf(sub, sizeof(sub), "%s%s%zu", path, path[0] ? "." : "", i);
			flat(sub, x);
		}
	} else if (json_is_string(v)) {
		printf("%s=%s\n", path, json_string_value(v));
	} else if (json_is_integer(v)) {
		printf("%s=%lld\n", path, (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		printf("%s=%.6g\n", path, json_real_value(v));
	} else {
		printf("%s=%s\n", path, json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null");
	}
}

int main(void)
{
	json_error_t err;
	json_t *root = json_loadf(stdin, 0, &err);

	if (root == NULL) {
		fprintf(stderr, "json_flat: invalid JSON at line %d: %s\n", err.line, err.text);
		return 1;
	}
	flat("", root);
	json_decref(root);
	return 0;
}

/*
 * malloc_trim(0) for JavaScript: gives the C heap's free pages back to the system. glibc keeps
 * what a burst of output freed inside its arenas, below any allocation still live, for as long
 * as the process runs; an idle daemon would hold its peak for ever. The idle collection calls
 * this after V8's collection (docs/daemon.md, "Memory per session"). Elsewhere than glibc it
 * does nothing and says so.
 */
#include <stdlib.h>
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  bool released = false;
#if defined(__GLIBC__)
  released = malloc_trim(0) != 0;
#endif
  napi_value result;
  napi_get_boolean(env, released, &result);
  return result;
}

static napi_value Supported(napi_env env, napi_callback_info info) {
  (void)info;
#if defined(__GLIBC__)
  bool supported = true;
#else
  bool supported = false;
#endif
  napi_value result;
  napi_get_boolean(env, supported, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value trim, supported;
  napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &trim);
  napi_create_function(env, "supported", NAPI_AUTO_LENGTH, Supported, NULL, &supported);
  napi_set_named_property(env, exports, "trim", trim);
  napi_set_named_property(env, exports, "supported", supported);
  return exports;
}

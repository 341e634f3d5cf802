// @vercel/functions in wfn's JavaScript runtime.
//
// Vercel's npm package @vercel/functions reads a request-context object that
// the platform installs under Symbol.for('@vercel/request-context'): its
// get() returns { waitUntil, headers, deadline, cache, purge, addCacheTag }
// for the request being served. This module installs that object, backed
// by the wfn ABI (vercel.c), so that the real package, bundled with the
// function, works unchanged. When the package is not installed, jsbuild
// resolves `import ... from '@vercel/functions'` to `functions` below, the
// same API built on the same context.
//
// waitUntil follows Vercel (docs: functions-api-reference, waitUntil): the
// promise is already running when it is handed over and runs alongside the
// response; after the response, the invocation goes on until every such
// promise has settled (wfn_run_task, registered with wait_until), each
// rejection logged on its own; the host stops all of it at maxDuration.

export const contextSymbol = Symbol.for("@vercel/request-context");
const moduleSymbol = Symbol.for("wfn:@vercel/functions");

// tagList joins a tag or a list of tags with commas, as Vercel's
// x-vercel-cache-tags header does and as the ABI takes them.
function tagList(tag) {
  return Array.isArray(tag) ? tag.map(String).join(",") : String(tag);
}

function seconds(options) {
  const s = options?.revalidationDeadlineSeconds;
  return s === undefined ? 0 : Number(s);
}

// install sets up the request context on globalThis and returns
// runTasks, for wfn_run_task.
export function install(native) {
  let pending = []; // the promises of waitUntil, each with its rejection logged
  let registeredFor = 0; // the invocation wait_until was last called for (native.served())

  function waitUntil(promise) {
    const n = native.served();
    if (registeredFor !== n) {
      native.waitUntil();
      registeredFor = n;
      if (pending.length > 0) pending = []; // an earlier invocation's, never run
    }
    pending.push(
      Promise.resolve(promise).then(undefined, (err) => {
        console.error("waitUntil: a promise rejected:", err);
      }),
    );
  }

  // A Runtime Cache whose store is down (EIO) is a miss, as with Vercel's
  // cache client, which never throws: get resolves null, the others
  // resolve (the host logs each failed call with the request's id). A call
  // the host refuses (EINVAL, ETOOLARGE) still rejects.
  const unavailable = (err, what) => err instanceof TypeError && err.message === `${what}: EIO`;
  const cache = {
    async get(key) {
      let s;
      try {
        s = native.cacheGet(String(key));
      } catch (err) {
        if (unavailable(err, "cache_get")) return null;
        throw err;
      }
      return s === undefined ? null : JSON.parse(s);
    },
    async set(key, value, options = {}) {
      const json = JSON.stringify(value);
      if (json === undefined) throw new TypeError(`cache.set: the value of "${key}" cannot be serialised to JSON`);
      const tags = options?.tags?.length ? tagList(options.tags) : "";
      try {
        native.cacheSet(String(key), json, Number(options?.ttl ?? 0), tags, options?.name == null ? "" : String(options.name));
      } catch (err) {
        if (!unavailable(err, "cache_set")) throw err;
      }
    },
    async delete(key) {
      try {
        native.cacheDelete(String(key));
      } catch (err) {
        if (!unavailable(err, "cache_delete")) throw err;
      }
    },
    async expireTag(tag) {
      try {
        native.cacheExpireTag(tagList(tag));
      } catch (err) {
        if (!unavailable(err, "cache_expire_tag")) throw err;
      }
    },
  };

  const each = (src, f) => {
    for (const s of Array.isArray(src) ? src : [src]) f(String(s));
  };
  const purge = {
    async invalidateByTag(tag) {
      native.cdnInvalidateByTag(tagList(tag));
    },
    async dangerouslyDeleteByTag(tag, options) {
      native.cdnDeleteByTag(tagList(tag), seconds(options));
    },
    async invalidateBySrcImage(src) {
      each(src, (s) => native.cdnInvalidateBySrcImage(s));
    },
    async dangerouslyDeleteBySrcImage(src, options) {
      each(src, (s) => native.cdnDeleteBySrcImage(s, seconds(options)));
    },
  };

  async function addCacheTag(tag) {
    native.cdnAddCacheTag(tagList(tag));
  }

  // The context of the request being served; {} before the first
  // invocation (module scope), as on Vercel when no request is in flight.
  const begun = () => native.served() !== 0; // an invocation has begun
  const context = {
    waitUntil,
    cache,
    purge,
    addCacheTag,
    get headers() {
      const out = {};
      const list = native.headers();
      for (let i = 0; i < list.length; i += 2) {
        out[list[i]] = list[i] in out ? `${out[list[i]]}, ${list[i + 1]}` : list[i + 1];
      }
      return out;
    },
    get deadline() {
      const ms = native.deadlineMs();
      return ms < 0 ? undefined : new Date(Date.now() + ms).toISOString();
    },
  };
  Object.defineProperty(globalThis, contextSymbol, {
    value: { get: () => (begun() ? context : {}) },
    writable: true,
    configurable: true,
    enumerable: false,
  });
  Object.defineProperty(globalThis, moduleSymbol, { value: functions(native, () => (begun() ? context : {})), enumerable: false });

  // runTasks, for wfn_run_task: the promises of waitUntil.
  return async function runTasks() {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      await Promise.all(batch);
    }
  };
}

// The system environment variables getEnv returns (Vercel docs:
// environment-variables/system-environment-variables); "" reads as unset.
const systemEnv = [
  "VERCEL",
  "CI",
  "VERCEL_ENV",
  "VERCEL_URL",
  "VERCEL_BRANCH_URL",
  "VERCEL_PROJECT_PRODUCTION_URL",
  "VERCEL_REGION",
  "VERCEL_DEPLOYMENT_ID",
  "VERCEL_SKEW_PROTECTION_ENABLED",
  "VERCEL_AUTOMATION_BYPASS_SECRET",
  "VERCEL_GIT_PROVIDER",
  "VERCEL_GIT_REPO_SLUG",
  "VERCEL_GIT_REPO_OWNER",
  "VERCEL_GIT_REPO_ID",
  "VERCEL_GIT_COMMIT_REF",
  "VERCEL_GIT_COMMIT_SHA",
  "VERCEL_GIT_COMMIT_MESSAGE",
  "VERCEL_GIT_COMMIT_AUTHOR_LOGIN",
  "VERCEL_GIT_COMMIT_AUTHOR_NAME",
  "VERCEL_GIT_PREVIOUS_SHA",
  "VERCEL_GIT_PULL_REQUEST_ID",
];

// The geolocation fields, in Vercel's order.
const geoFields = ["city", "country", "flag", "countryRegion", "region", "latitude", "longitude", "postalCode"];

// djb2 with xor over UTF-16 code units, in lower-case hex: the key hash of
// getCache() in @vercel/functions (also wfn_cache_key in the C SDK and
// wfncache in the Go SDK, so that the SDKs share entries).
function hashKey(key) {
  let h = 5381;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 33) ^ key.charCodeAt(i)) >>> 0;
  return h.toString(16);
}

// functions is wfn's own @vercel/functions module: the package's API over
// the request context.
function functions(native, context) {
  return {
    waitUntil(promise) {
      if (promise === null || typeof promise !== "object" || typeof promise.then !== "function") {
        throw new TypeError(`waitUntil can only be called with a Promise, got ${typeof promise}`);
      }
      return context().waitUntil?.(promise);
    },
    getEnv(env = globalThis.process?.env ?? native.environ()) {
      return Object.fromEntries(systemEnv.map((name) => [name, env[name] === "" ? undefined : env[name]]));
    },
    // The current request's location, from the host (abi/SPEC.md 5b): the
    // request argument is accepted for compatibility; it is the request
    // being served that is located.
    geolocation(request) {
      const json = native.geolocation();
      const geo = json === undefined ? {} : JSON.parse(json);
      return Object.fromEntries(geoFields.map((f) => [f, geo[f]]));
    },
    ipAddress(request) {
      return native.ipAddress();
    },
    getCache(options = {}) {
      const hash = options.keyHashFunction ?? hashKey;
      const key = (k) => (options.namespace ? `${options.namespace}${options.namespaceSeparator || "$"}${hash(k)}` : hash(k));
      const cache = () => {
        const c = context().cache;
        if (!c) throw new TypeError("getCache: the Runtime Cache is only available while a request is served");
        return c;
      };
      return {
        get: async (k) => cache().get(key(k)),
        set: async (k, value, opts) => cache().set(key(k), value, { ...opts, name: opts?.name ?? k }),
        delete: async (k) => cache().delete(key(k)),
        expireTag: async (tag) => cache().expireTag(tag),
      };
    },
    async invalidateByTag(tag) {
      return context().purge?.invalidateByTag(tag);
    },
    async dangerouslyDeleteByTag(tag, options) {
      return context().purge?.dangerouslyDeleteByTag(tag, options);
    },
    async invalidateBySrcImage(src) {
      return context().purge?.invalidateBySrcImage(src);
    },
    async dangerouslyDeleteBySrcImage(src, options) {
      return context().purge?.dangerouslyDeleteBySrcImage(src, options);
    },
    async addCacheTag(tag) {
      return context().addCacheTag?.(tag);
    },
    getDeadline() {
      const d = context().deadline;
      return d === undefined ? undefined : new Date(d);
    },
  };
}

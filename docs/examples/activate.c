/*
 * Product-side activation loop against lac-gateway, in C with libcurl and OpenSSL:
 * POST the activation, follow 202 / Location with long-polls, verify the Ed25519 signature,
 * store the license file, print when to check again.
 *
 *   cc -O2 -Wall -Wextra -o activate activate.c -lcurl -lcrypto
 *   ./activate http://127.0.0.1:8080 API_KEY SNGLE-HOST1-DEMO0-00001 HOSTNAME=my-laptop \
 *       license.lic PUBLIC_KEY_X [WAIT_SECONDS]
 *
 * PUBLIC_KEY_X is the "x" of the gateway's key (GET /.well-known/lac-gateway-signing-key),
 * shipped with the product so that a forged gateway cannot hand it a license.
 * The JSON handling is the smallest that reads the gateway's answers; a product with a JSON
 * library should use it instead.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#define LONG_POLL_SECONDS 30
#define MAX_ATTEMPTS 20
#define RECHECK_DEFAULT_SECONDS (24 * 3600) /* when the answer names no next_check_after */

struct buffer {
    char *data;
    size_t len;
};

struct answer {
    long status;
    struct buffer body;
    char location[512];
    char signature[512];
    long retry_after;
};

static int append(struct buffer *buf, const char *data, size_t len) {
    char *grown = realloc(buf->data, buf->len + len + 1);
    if (grown == NULL)
        return -1;
    buf->data = grown;
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return 0;
}

static size_t on_body(char *data, size_t size, size_t count, void *user) {
    struct answer *answer = user;
    return append(&answer->body, data, size * count) == 0 ? size * count : 0;
}

/* Copies the value of header `name` from `line` into `out` when the line is that header. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap) {
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return;
    const char *value = line + n + 1;
    const char *end = line + len;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t copy = (size_t)(end - value) < cap - 1 ? (size_t)(end - value) : cap - 1;
    memcpy(out, value, copy);
    out[copy] = '\0';
}

static size_t on_header(char *line, size_t size, size_t count, void *user) {
    struct answer *answer = user;
    size_t len = size * count;
    char retry[32] = "";
    header_value(line, len, "Location", answer->location, sizeof answer->location);
    header_value(line, len, "LAC-Gateway-Signature", answer->signature, sizeof answer->signature);
    header_value(line, len, "Retry-After", retry, sizeof retry);
    if (retry[0] != '\0')
        answer->retry_after = strtol(retry, NULL, 10);
    return len;
}

/* One request; returns 0 when an HTTP answer (any status) was read. */
static int call(CURL *curl, const char *url, const char *api_key, const char *body,
                const char *prefer, const char *idempotency_key, struct answer *answer) {
    char auth[512], prefer_header[64], key_header[128];
    struct curl_slist *headers = NULL;
    memset(answer, 0, sizeof *answer);
    answer->retry_after = 1;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", api_key);
    headers = curl_slist_append(headers, auth);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (body != NULL) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        snprintf(prefer_header, sizeof prefer_header, "Prefer: %s", prefer);
        headers = curl_slist_append(headers, prefer_header);
        /* One key for every retry of this activation: a retried POST replays the answer. */
        snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", idempotency_key);
        headers = curl_slist_append(headers, key_header);
    }
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, answer);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)(LONG_POLL_SECONDS + 30));
    if (body != NULL)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer->status);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        fprintf(stderr, "request to %s failed: %s\n", url, curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

/* The JSON string value of "name" in `json`, unescaped into a new buffer (NULL if absent). */
static char *json_string(const char *json, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *at = strstr(json, key);
    if (at == NULL)
        return NULL;
    at += strlen(key);
    while (*at == ' ')
        at++;
    if (*at != '"')
        return NULL;
    struct buffer out = {NULL, 0};
    for (at++; *at != '\0' && *at != '"'; at++) {
        char c = *at;
        if (c == '\\') {
            at++;
            switch (*at) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': /* the gateway escapes only control characters this way */
                if (strlen(at) < 5) { free(out.data); return NULL; }
                c = (char)strtol((char[]){at[1], at[2], at[3], at[4], 0}, NULL, 16);
                at += 4;
                break;
            default: c = *at; /* \" \\ \/ */
            }
        }
        if (append(&out, &c, 1) != 0) { free(out.data); return NULL; }
    }
    return out.data != NULL ? out.data : strdup("");
}

static int b64url_decode(const char *text, unsigned char *out, size_t cap, size_t *len) {
    size_t n = strlen(text), bits = 0, value = 0;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const char *hit = strchr(alphabet, text[i]);
        if (hit == NULL || text[i] == '\0')
            return -1;
        value = (value << 6) | (size_t)(hit - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (*len >= cap)
                return -1;
            out[(*len)++] = (unsigned char)((value >> bits) & 0xFF);
        }
    }
    return 0;
}

/* Checks "t=<time>, kid=<id>, sig=<base64url>" over "<t>." + body; 0 when it verifies. */
static int verify(const struct answer *answer, const char *public_x) {
    unsigned char key[32], sig[64];
    size_t key_len, sig_len;
    const char *t = strstr(answer->signature, "t=");
    const char *s = strstr(answer->signature, "sig=");
    if (t == NULL || s == NULL)
        return -1;
    char stamp[32];
    size_t stamp_len = strcspn(t + 2, ", ");
    if (stamp_len == 0 || stamp_len >= sizeof stamp)
        return -1;
    memcpy(stamp, t + 2, stamp_len);
    stamp[stamp_len] = '\0';
    char sig_text[128];
    snprintf(sig_text, sizeof sig_text, "%.*s", (int)strcspn(s + 4, ", "), s + 4);
    if (b64url_decode(public_x, key, sizeof key, &key_len) != 0 || key_len != 32 ||
        b64url_decode(sig_text, sig, sizeof sig, &sig_len) != 0 || sig_len != 64)
        return -1;
    struct buffer signed_bytes = {NULL, 0};
    if (append(&signed_bytes, stamp, stamp_len) != 0 || append(&signed_bytes, ".", 1) != 0 ||
        append(&signed_bytes, answer->body.data, answer->body.len) != 0)
        return -1;
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, key_len);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = pkey != NULL && ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, (unsigned char *)signed_bytes.data,
                              signed_bytes.len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    free(signed_bytes.data);
    return ok ? 0 : -1;
}

/* Writes the license atomically: a crash never leaves half a license file. */
static int store(const char *path, const char *content) {
    char partial[1024];
    snprintf(partial, sizeof partial, "%s.partial", path);
    FILE *file = fopen(partial, "w");
    if (file == NULL)
        return -1;
    int ok = fputs(content, file) >= 0;
    ok = fclose(file) == 0 && ok;
    return ok && rename(partial, path) == 0 ? 0 : -1;
}

/* Activation keys and HostIDs go into JSON unescaped: accept only the characters LAC uses. */
static int plain(const char *text) {
    for (; *text != '\0'; text++)
        if (!isalnum((unsigned char)*text) && strchr("=,._:-*@\\", *text) == NULL)
            return 0;
    return 1;
}

static int pending(const struct answer *answer) {
    return (answer->status == 200 || answer->status == 202) && answer->body.data != NULL &&
           strstr(answer->body.data, "\"state\":\"pending\"") != NULL;
}

static int retryable(long status) {
    return status == 429 || status == 502 || status == 503 || status == 504;
}

static void new_idempotency_key(char *out, size_t cap) {
    unsigned char random[16] = {0};
    FILE *urandom = fopen("/dev/urandom", "rb");
    if (urandom != NULL) {
        if (fread(random, 1, sizeof random, urandom) != sizeof random)
            fprintf(stderr, "short read from /dev/urandom\n");
        fclose(urandom);
    }
    for (size_t i = 0; i < sizeof random && 2 * i + 2 < cap; i++)
        snprintf(out + 2 * i, 3, "%02x", random[i]);
}

/* POST, then follow 202 / Location with long-polls until the activation is settled. */
static int activate(CURL *curl, char **argv, const char *prefer, struct answer *answer) {
    char url[1024], body[1024], key[40] = "";
    const char *gateway = argv[1], *api_key = argv[2];
    snprintf(body, sizeof body, "{\"activation_key\":\"%s\",\"hostids\":[\"%s\"]}", argv[3], argv[4]);
    new_idempotency_key(key, sizeof key);
    snprintf(url, sizeof url, "%s/v1/activations", gateway);
    if (call(curl, url, api_key, body, prefer, key, answer) != 0)
        return -1;
    char location[512] = "";
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (answer->status == 202) {
            snprintf(location, sizeof location, "%s", answer->location);
            printf("pending: long-polling %s after %ld s\n", location, answer->retry_after);
        }
        if (!retryable(answer->status) && !pending(answer))
            return 0;
        sleep((unsigned)(answer->retry_after > 0 ? answer->retry_after : 1));
        free(answer->body.data);
        if (location[0] == '\0') {
            snprintf(url, sizeof url, "%s/v1/activations", gateway);
            if (call(curl, url, api_key, body, prefer, key, answer) != 0)
                return -1;
        } else {
            snprintf(url, sizeof url, "%s%s?wait=%d", gateway, location, LONG_POLL_SECONDS);
            if (call(curl, url, api_key, NULL, NULL, NULL, answer) != 0)
                return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s GATEWAY API_KEY ACTIVATION_KEY HOSTID OUT_FILE PUBLIC_KEY_X "
                        "[WAIT_SECONDS]\n", argv[0]);
        return 2;
    }
    if (!plain(argv[3]) || !plain(argv[4])) {
        fprintf(stderr, "the activation key or HostID holds characters LAC does not use\n");
        return 2;
    }
    char prefer[32];
    snprintf(prefer, sizeof prefer, "wait=%d", argc > 7 ? atoi(argv[7]) : 10);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    struct answer answer;
    int rc = curl != NULL ? activate(curl, argv, prefer, &answer) : -1;
    if (rc == 0 && answer.status != 200) {
        char *detail = answer.body.data ? json_string(answer.body.data, "detail") : NULL;
        fprintf(stderr, "activation failed: %ld %s\n", answer.status, detail ? detail : "");
        free(detail);
        rc = 1;
    } else if (rc == 0 && verify(&answer, argv[6]) != 0) {
        fprintf(stderr, "the license answer's signature does not verify\n");
        rc = 1;
    } else if (rc == 0) {
        char *content = json_string(answer.body.data, "content");
        char *next = json_string(answer.body.data, "next_check_after");
        rc = content != NULL && store(argv[5], content) == 0 ? 0 : 1;
        if (rc == 0) {
            printf("license stored in %s (signature verified)\n", argv[5]);
            if (next != NULL)
                printf("next check after %s\n", next);
            else
                printf("next check in %d seconds\n", RECHECK_DEFAULT_SECONDS);
        }
        free(content);
        free(next);
    }
    if (curl != NULL)
        free(answer.body.data);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return rc;
}

// AWS Signature Version 4 (see sigv4.hpp).
#include "api/sigv4.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

namespace api {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

std::string hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<const char*>(out), n);
}

// RFC 3986 unreserved characters stay; everything else is %XX (uppercase), '/' kept when asked.
std::string uri_encode(std::string_view in, bool keep_slash) {
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces made one.
std::string canonical_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

ApiError incomplete(std::string message) {
  return ApiError::auth(ApiErrorType::IncompleteSignature, std::move(message));
}
ApiError invalid(std::string message) {
  return ApiError::auth(ApiErrorType::InvalidSignature, std::move(message));
}

// "yyyymmddThhmmssZ" → a time point.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto num = [&](size_t at, size_t len) -> std::optional<int> {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data() + at, s.data() + at + len, v);
    if (ec != std::errc() || p != s.data() + at + len) return std::nullopt;
    return v;
  };
  auto y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2),
       se = num(13, 2);
  if (!y || !mo || !d || !h || !mi || !se || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 ||
      *mi > 59 || *se > 60)
    return std::nullopt;
  struct tm tm {};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *se;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  const time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// "Credential=AKID/20260101/us-east-1/lambda/aws4_request" → the auth's scope fields.
std::expected<void, ApiError> parse_credential(std::string_view credential, SigV4Authorization& a) {
  auto parts = split(credential, '/');
  if (parts.size() != 5 || parts[0].empty() || parts[4] != "aws4_request")
    return std::unexpected(
        incomplete("Authorization header requires 'Credential' parameter of the form "
                   "AKID/yyyymmdd/region/service/aws4_request. Authorization=" +
                   std::string(credential)));
  a.access_key_id = parts[0];
  a.date = parts[1];
  a.region = parts[2];
  a.service = parts[3];
  return {};
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
  return hex(digest, n);
}

std::expected<SigV4Authorization, ApiError> parse_sigv4(const HttpRequest& request) {
  SigV4Authorization a;
  const std::string header = request.header("Authorization");
  if (header.empty()) {
    if (request.query.find("X-Amz-Signature") == request.query.end())
      return std::unexpected(
          ApiError::auth(ApiErrorType::MissingAuthenticationToken, "Missing Authentication Token"));
    a.presigned = true;
    if (request.query_param("X-Amz-Algorithm") != kAlgorithm)
      return std::unexpected(incomplete("X-Amz-Algorithm must be AWS4-HMAC-SHA256"));
    if (auto ok = parse_credential(request.query_param("X-Amz-Credential"), a); !ok)
      return std::unexpected(ok.error());
    a.signed_headers = split(request.query_param("X-Amz-SignedHeaders"), ';');
    a.signature = request.query_param("X-Amz-Signature");
    a.amz_date = request.query_param("X-Amz-Date");
    int64_t expires = 0;
    const std::string e = request.query_param("X-Amz-Expires");
    auto [p, ec] = std::from_chars(e.data(), e.data() + e.size(), expires);
    if (e.empty() || ec != std::errc() || p != e.data() + e.size() || expires < 1 ||
        expires > 604800)
      return std::unexpected(incomplete("X-Amz-Expires must be a number of seconds, 1 to 604800"));
    a.expires_s = expires;
  } else {
    std::string_view rest = header;
    if (!rest.starts_with(kAlgorithm) || rest.size() == kAlgorithm.size() ||
        rest[kAlgorithm.size()] != ' ')
      return std::unexpected(incomplete(fmt::format(
          "Authorization header requires the {} algorithm. Authorization={}", kAlgorithm, header)));
    rest.remove_prefix(kAlgorithm.size() + 1);
    std::map<std::string, std::string> fields;
    for (auto& part : split(rest, ',')) {
      const std::string field = canonical_value(part);
      const size_t eq = field.find('=');
      if (eq != std::string::npos) fields[field.substr(0, eq)] = field.substr(eq + 1);
    }
    for (auto name : {"Credential", "SignedHeaders", "Signature"})
      if (!fields.contains(name))
        return std::unexpected(incomplete(fmt::format(
            "Authorization header requires '{}' parameter. Authorization={}", name, header)));
    if (auto ok = parse_credential(fields["Credential"], a); !ok)
      return std::unexpected(ok.error());
    a.signed_headers = split(fields["SignedHeaders"], ';');
    a.signature = fields["Signature"];
    a.amz_date = request.header("X-Amz-Date");
    if (a.amz_date.empty())
      return std::unexpected(
          incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                     "header. Authorization=" +
                     header));
  }
  for (auto& h : a.signed_headers) h = lower(h);
  if (std::find(a.signed_headers.begin(), a.signed_headers.end(), "host") == a.signed_headers.end())
    return std::unexpected(incomplete("'Host' must be a signed header"));
  return a;
}

std::string sigv4_canonical_request(const HttpRequest& request,
                                    const std::vector<std::string>& signed_headers) {
  std::string cr = request.method + "\n";
  cr += request.raw_path.empty() ? "/" : uri_encode(request.raw_path, /*keep_slash=*/true);
  cr += "\n";
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [key, value] : request.query)
    if (key != "X-Amz-Signature")
      query.emplace_back(uri_encode(key, false), uri_encode(value, false));
  std::sort(query.begin(), query.end());
  for (size_t i = 0; i < query.size(); ++i)
    cr += (i ? "&" : "") + query[i].first + "=" + query[i].second;
  cr += "\n";
  for (const auto& name : signed_headers) {
    std::string joined;
    for (auto [it, end] = request.headers.equal_range(name); it != end; ++it)
      joined += (joined.empty() ? "" : ",") + canonical_value(it->second);
    cr += name + ":" + joined + "\n";
  }
  cr += "\n";
  for (size_t i = 0; i < signed_headers.size(); ++i) cr += (i ? ";" : "") + signed_headers[i];
  cr += "\n";
  const std::string declared = request.header("X-Amz-Content-Sha256");
  cr += declared.empty() ? sha256_hex(request.body) : declared;
  return cr;
}

std::string sigv4_string_to_sign(const SigV4Authorization& a, const std::string& canonical) {
  return fmt::format("{}\n{}\n{}/{}/{}/aws4_request\n{}", kAlgorithm, a.amz_date, a.date, a.region,
                     a.service, sha256_hex(canonical));
}

std::string sigv4_signature(std::string_view secret, const SigV4Authorization& a,
                            std::string_view string_to_sign) {
  const std::string k_date = hmac("AWS4" + std::string(secret), a.date);
  const std::string k_region = hmac(k_date, a.region);
  const std::string k_service = hmac(k_region, a.service);
  const std::string k_signing = hmac(k_service, "aws4_request");
  const std::string mac = hmac(k_signing, string_to_sign);
  return hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::expected<std::string, ApiError> verify_sigv4(
    const HttpRequest& request, const SigV4Policy& policy,
    const std::function<std::optional<std::string>(const std::string& access_key_id)>& secret_of) {
  auto a = parse_sigv4(request);
  if (!a) return std::unexpected(a.error());
  const auto secret = secret_of(a->access_key_id);
  if (!secret)
    return std::unexpected(
        ApiError::auth(ApiErrorType::UnrecognizedClient,
                       "The security token included in the request is invalid."));
  if (a->service != policy.service)
    return std::unexpected(invalid(
        fmt::format("Credential should be scoped to correct service: '{}'.", policy.service)));
  if (a->region != policy.region)
    return std::unexpected(invalid(
        fmt::format("Credential should be scoped to a valid region, not '{}'. ", a->region)));
  const auto signed_at = parse_amz_date(a->amz_date);
  if (!signed_at || a->amz_date.substr(0, 8) != a->date)
    return std::unexpected(
        invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                "from HTTP: '" +
                a->date + "' != '" + a->amz_date.substr(0, 8) + "'"));
  const auto now = policy.now;
  if (a->presigned) {
    if (now > *signed_at + std::chrono::seconds(*a->expires_s) + policy.max_skew ||
        *signed_at > now + policy.max_skew)
      return std::unexpected(invalid("Signature expired: " + a->amz_date + " is now earlier than " +
                                     amz_date(now - std::chrono::seconds(*a->expires_s)) + " (" +
                                     amz_date(now) + " - " + std::to_string(*a->expires_s) +
                                     " sec.)"));
  } else if (*signed_at < now - policy.max_skew) {
    return std::unexpected(invalid(
        fmt::format("Signature expired: {} is now earlier than {} ({} - {} min.)", a->amz_date,
                    amz_date(now - policy.max_skew), amz_date(now), policy.max_skew.count() / 60)));
  } else if (*signed_at > now + policy.max_skew) {
    return std::unexpected(invalid(fmt::format(
        "Signature not yet current: {} is still later than {} ({} + {} min.)", a->amz_date,
        amz_date(now + policy.max_skew), amz_date(now), policy.max_skew.count() / 60)));
  }
  const std::string expected = sigv4_signature(
      *secret, *a, sigv4_string_to_sign(*a, sigv4_canonical_request(request, a->signed_headers)));
  if (expected.size() != a->signature.size() ||
      CRYPTO_memcmp(expected.data(), a->signature.data(), expected.size()) != 0)
    return std::unexpected(invalid(std::string(kMismatch)));
  return a->access_key_id;
}

void sign_sigv4(HttpRequest& request, std::string_view access_key_id, std::string_view secret,
                std::string_view region, std::string_view service,
                std::chrono::system_clock::time_point now) {
  SigV4Authorization a;
  a.access_key_id = access_key_id;
  a.amz_date = amz_date(now);
  a.date = a.amz_date.substr(0, 8);
  a.region = region;
  a.service = service;
  request.headers.erase("X-Amz-Date");
  request.headers.emplace("X-Amz-Date", a.amz_date);
  for (const auto& [name, value] : request.headers) {
    const std::string l = lower(name);
    if (l == "host" || l == "x-amz-date" || l == "content-type" || l.starts_with("x-amz-"))
      if (std::find(a.signed_headers.begin(), a.signed_headers.end(), l) == a.signed_headers.end())
        a.signed_headers.push_back(l);
  }
  std::sort(a.signed_headers.begin(), a.signed_headers.end());
  a.signature = sigv4_signature(
      secret, a, sigv4_string_to_sign(a, sigv4_canonical_request(request, a.signed_headers)));
  std::string list;
  for (const auto& h : a.signed_headers) list += (list.empty() ? "" : ";") + h;
  request.headers.erase("Authorization");
  request.headers.emplace(
      "Authorization",
      fmt::format("{} Credential={}/{}/{}/{}/aws4_request, SignedHeaders={}, "
                  "Signature={}",
                  kAlgorithm, a.access_key_id, a.date, a.region, a.service, list, a.signature));
}

}  // namespace api

// A RESPONSE_STREAM Function URL's answer (see url_response_stream.hpp).
#include "runtimed/triggers/url_response_stream.hpp"

#include <nlohmann/json.hpp>

#include "api/http_event_v2.hpp"

namespace runtimed {

std::optional<api::HttpResponse> prelude_head(std::string_view prelude) {
  auto json = nlohmann::json::parse(prelude, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  if (!json.contains("statusCode")) json["statusCode"] = 200;
  json.erase("body");  // the body is what follows the prelude
  return api::http_response_v2(json.dump());
}

std::optional<api::HttpResponse> gathered_http_response(std::string_view stream) {
  const size_t end = stream.find(std::string_view("\0\0\0\0\0\0\0\0", 8));
  auto head = prelude_head(stream.substr(0, end));
  if (head && end != std::string_view::npos) head->body = std::string(stream.substr(end + 8));
  return head;
}

UrlResponseStream::UrlResponseStream(
    api::Reply reply, std::function<void(api::HttpResponse&)> decorate,
    std::function<api::HttpResponse(const api::InvokeResult&)> whole)
    : decorate_(std::move(decorate)), whole_(std::move(whole)), reply_(std::move(reply)) {}

namespace {

// The front end's answer to a malformed stream: what it answers a function error with (502).
api::InvokeResult malformed_result() {
  api::InvokeResult result;
  result.function_error = true;
  result.payload = "{}";
  return result;
}

}  // namespace

void UrlResponseStream::begin(const std::string& content_type, const std::string&) {
  api::Reply reply;
  api::HttpResponse head;
  {
    common::MutexLock lock(mu_);
    if (begun_ || completed_) return;
    begun_ = true;
    if (content_type == kHttpIntegrationResponse) {
      in_prelude_ = true;  // the head comes from the prelude
      return;
    }
    head_sent_ = true;
    reply = std::move(reply_);
  }
  head.set_header("content-type", content_type);
  decorate_(head);
  head.stream = body_;
  reply(std::move(head));
}

void UrlResponseStream::write(std::string piece) {
  api::Reply reply;
  std::optional<api::HttpResponse> head;
  {
    common::MutexLock lock(mu_);
    if (completed_ || malformed_) return;
    if (!in_prelude_) {
      body_->write(std::move(piece));
      return;
    }
    prelude_ += piece;
    static const std::string kDelimiter(8, '\0');
    const size_t end = prelude_.find(kDelimiter);
    if (end == std::string::npos && prelude_.size() <= kMaxPrelude) return;  // more to come
    if (end != std::string::npos) head = prelude_head(std::string_view(prelude_).substr(0, end));
    reply = std::move(reply_);
    in_prelude_ = false;
    if (!head) {
      malformed_ = true;
    } else {
      head_sent_ = true;
      body_->write(prelude_.substr(end + kDelimiter.size()));
    }
    prelude_.clear();
  }
  if (!head) return reply(whole_(malformed_result()));
  decorate_(*head);
  head->stream = body_;
  reply(std::move(*head));
}

size_t UrlResponseStream::backlog() const { return body_->backlog(); }

void UrlResponseStream::when_below(size_t low, std::function<void()> resume) {
  body_->when_below(low, std::move(resume));
}

void UrlResponseStream::complete(const api::InvokeResult& result) {
  api::Reply reply;
  std::optional<api::HttpResponse> answer;
  {
    common::MutexLock lock(mu_);
    if (completed_) return;
    completed_ = true;
    if (head_sent_) {
      // The status is out: a failure can only cut the body off.
      if (result.function_error || result.api_error) {
        body_->fail();
      } else {
        body_->finish();
      }
      return;
    }
    if (malformed_) return;  // answered 502 already
    reply = std::move(reply_);
    if (in_prelude_ && !result.function_error && !result.api_error) {
      // The stream ended inside its prelude: an empty prelude (nothing written) is an empty
      // 200; a whole one without its delimiter is the head of an empty body.
      if (prelude_.empty()) {
        answer.emplace();
      } else {
        answer = prelude_head(prelude_);
      }
      if (!answer) answer = whole_(malformed_result());
    }
  }
  if (!answer) return reply(whole_(result));
  decorate_(*answer);
  reply(std::move(*answer));
}

}  // namespace runtimed

// Draws a saved bench run for the console (see saved_run_report.hpp).
#include "runtimed/bench/saved_run_report.hpp"

#include "api/lambda_error.hpp"
#include "runtimed/bench/bench_html.hpp"
#include "runtimed/bench/bench_json_read.hpp"
#include "runtimed/bench/bench_summary.hpp"

namespace runtimed::bench {

api::HttpResponse saved_run_report(const api::HttpRequest& request, const std::string& request_id) {
  auto saved = read_run_json(request.body);
  if (!saved) {
    return api::to_http(
        api::ApiError::invalid_request_content("Cannot draw this bench run: " + saved.error()),
        request_id);
  }
  const Summary summary = summarize(saved->run.samples, saved->run.duration_s);
  api::HttpResponse response{.status = 200,
                             .body = html_report_body(saved->run, summary, saved->heading)};
  response.set_header("Content-Type", "text/html; charset=utf-8");
  response.set_header("Cache-Control", "no-store");
  response.set_header("X-Content-Type-Options", "nosniff");
  if (!request_id.empty()) response.set_header("x-amzn-RequestId", request_id);
  return response;
}

}  // namespace runtimed::bench

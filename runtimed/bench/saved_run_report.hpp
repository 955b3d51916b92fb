// POST /runtimed/v1/bench/report: a saved `runtimed bench --json` run, drawn by the same code as
// `bench --html` (html_report_body), for the console's bench page. The body is the file; the
// answer is the report's HTML content (no page around it, no script), or 400 in Lambda's shape
// naming what is wrong with the file.
#pragma once

#include <string>

#include "api/http_types.hpp"

namespace runtimed::bench {

api::HttpResponse saved_run_report(const api::HttpRequest& request, const std::string& request_id);

}  // namespace runtimed::bench

#include "api/json_response.hpp"

namespace api {

HttpResponse json_response(int status, const nlohmann::json& body, const std::string& request_id) {
  HttpResponse response;
  response.status = status;
  response.set_header("Content-Type", "application/json");
  response.set_header("x-amzn-RequestId", request_id);
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

HttpResponse no_content_response(const std::string& request_id) {
  HttpResponse response;
  response.status = 204;
  response.set_header("x-amzn-RequestId", request_id);
  return response;
}

}  // namespace api

#include <gtest/gtest.h>

#include "api/http_route_match.hpp"

using api::match_http_route;
using api::valid_http_route_key;

TEST(HttpRouteMatch, ParamAndExactMethod) {
  const std::vector<std::string> keys{"GET /items/{id}", "POST /items/{id}"};
  auto m = match_http_route(keys, "GET", "/items/42");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route_key, "GET /items/{id}");
  EXPECT_EQ(m->path_parameters.at("id"), "42");
  EXPECT_FALSE(match_http_route(keys, "DELETE", "/items/42"));
  EXPECT_FALSE(match_http_route(keys, "GET", "/items/42/x"));
}

TEST(HttpRouteMatch, LiteralBeatsParamAndExactBeatsAny) {
  const std::vector<std::string> keys{"ANY /items/new", "GET /items/{id}", "GET /items/new"};
  EXPECT_EQ(match_http_route(keys, "GET", "/items/new")->route_key, "GET /items/new");
  EXPECT_EQ(match_http_route(keys, "PUT", "/items/new")->route_key, "ANY /items/new");
  EXPECT_EQ(match_http_route(keys, "GET", "/items/7")->route_key, "GET /items/{id}");
}

TEST(HttpRouteMatch, GreedyProxyAndDefault) {
  const std::vector<std::string> keys{"$default", "ANY /files/{proxy+}", "GET /files/{name}"};
  auto m = match_http_route(keys, "GET", "/files/a/b/c.txt");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route_key, "ANY /files/{proxy+}");
  EXPECT_EQ(m->path_parameters.at("proxy"), "a/b/c.txt");
  EXPECT_EQ(match_http_route(keys, "GET", "/files/x")->route_key, "GET /files/{name}");
  auto d = match_http_route(keys, "GET", "/other");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->route_key, "$default");
  EXPECT_TRUE(d->path_parameters.empty());
  // {proxy+} needs at least one segment.
  EXPECT_EQ(match_http_route(keys, "GET", "/files")->route_key, "$default");
}

TEST(HttpRouteMatch, ValidKeys) {
  EXPECT_TRUE(valid_http_route_key("$default"));
  EXPECT_TRUE(valid_http_route_key("GET /a/{b}/{c+}"));
  EXPECT_FALSE(valid_http_route_key("GET /{p+}/x"));
  EXPECT_FALSE(valid_http_route_key("GET items"));
  EXPECT_FALSE(valid_http_route_key("/items"));
}

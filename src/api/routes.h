#pragma once
// The route table: which handler a request line goes to, whether its method is allowed there,
// and the id of /fhir/Patient/{id}. Pure functions; thread-safe.
#include <string_view>

#include "api/metrics.h"

namespace medvault::api {

struct RouteMatch {
  Route route = Route::kOther;  // for a refused method: the path's first route, for the metrics
  bool found = false;           // false: no such path (404)
  bool method_allowed = false;  // false on a known path: 405
  // /fhir/Patient/{id}, /fhir/Patient/{id}/$access-code, /fhir/DocumentReference/{id}: the id,
  // not yet validated.
  std::string_view id;
};

// `method` is the request's method as sent (methods are case-sensitive); `path` excludes the
// query. The returned id points into `path`.
RouteMatch MatchRoute(std::string_view method, std::string_view path);

// The token of an `Authorization: Bearer TOKEN` header value (the scheme is case-insensitive,
// RFC 7235); empty when the header is absent, of another scheme, or carries no single token.
std::string_view BearerToken(std::string_view authorization);

}  // namespace medvault::api

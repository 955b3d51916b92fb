# Example shell function for runtimes/shell/bootstrap (handler "script.handler"): greets the
# event's "name" and counts the invocations of a warm environment in /tmp.
greeting="Hello"  # set once, at init

handler() {
  event=$1
  name=$(printf '%s' "$event" | sed -n 's/.*"name" *: *"\([^"]*\)".*/\1/p')
  [ -n "$name" ] || name=world
  if [ "$name" = "fail" ]; then
    echo "refusing to greet '$name'" >&2
    return 3
  fi
  count=$(( $(cat /tmp/invocations 2>/dev/null || echo 0) + 1 ))
  echo "$count" >/tmp/invocations
  echo "greeting $name for request $LAMBDA_REQUEST_ID" >&2
  printf '{"message":"%s, %s!","request_id":"%s","invocations":%s}\n' \
    "$greeting" "$name" "$LAMBDA_REQUEST_ID" "$count"
}

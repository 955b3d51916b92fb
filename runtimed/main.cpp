// runtimed: the daemon and its command-line client.
#include <cstdio>

int main() {
  std::puts("runtimed: not yet");
  return 0;
}

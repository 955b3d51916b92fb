// Placeholder; replaced by the sandbox probe.
int main() { return 0; }

// Listed as skipped: the service runs Python, Java and JavaScript only.
#include <iostream>
#include <string>
int main() {
    std::string line;
    while (std::getline(std::cin, line)) {
        long sum = 0;
        for (char c : line) sum += c - '0';
        std::cout << sum << '\n';
    }
}

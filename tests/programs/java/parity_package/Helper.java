package app;

class Helper {
    void fail() {
        throw new UnsupportedOperationException("from a packaged helper");
    }
}

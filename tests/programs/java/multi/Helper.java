public class Helper {
    static String greet(String name) {
        return "Hello, " + name + "!";
    }
}

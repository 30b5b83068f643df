package pkg;

// Submitted beside a file named `pkg`: the class file pkg/Main.class has nowhere to go.
public class Main {
    public static void main(String[] args) {
        System.out.println("Hello, world!");
    }
}

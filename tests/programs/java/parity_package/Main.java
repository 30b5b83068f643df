package app;

// A main class in a package and a main inherited from a class that is not public.
public class Main extends Base {
}

class Base {
    public static void main(String[] args) {
        System.out.println("main of " + Base.class.getName() + " " + String.join(",", args));
        new Helper().fail();
    }
}

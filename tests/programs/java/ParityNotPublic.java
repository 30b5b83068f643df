// A class that is not public holding main (javac names the file after none).
class ParityNotPublic {
    public static void main(String[] args) {
        System.out.println("a package-private class ran");
    }
}

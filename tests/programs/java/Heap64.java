public class Heap64 {
    public static void main(String[] args) {
        byte[][] blocks = new byte[64][];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = new byte[1024 * 1024];
            blocks[i][i] = 1;
        }
        System.out.println("held " + blocks.length + " MB");
    }
}

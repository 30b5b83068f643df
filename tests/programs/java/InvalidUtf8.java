public class InvalidUtf8 {
    public static void main(String[] args) {
        byte[] bytes = {'o', 'k', ' ', (byte) 0xff, (byte) 0xfe, ' ', 'e', 'n', 'd', '\n'};
        System.out.write(bytes, 0, bytes.length);
        System.out.flush();
    }
}

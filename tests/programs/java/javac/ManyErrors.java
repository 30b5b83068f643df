public class ManyErrors {
    void a() { int a = "1"; }
    void b() { int b = "2"; }
    void c() { int c = "3"; }
    void d() { undefined(); }
    void e() { return 5; }
}

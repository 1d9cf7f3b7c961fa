// dlib's own face recognition pipeline, as in dlib's examples/dnn_face_recognition_ex.cpp: HOG detector (upsampled
// once), 5-point shape predictor, 150×150 chip with 0.25 padding, ResNet with dlib's float weights. It writes one
// JSON line per image in the format of `facerec eval lfw --save`, so that `facerec eval lfw --load` scores dlib
// itself under exactly the protocol facerec is scored with. See README.md here.
#include <dlib/dnn.h>
#include <dlib/image_io.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <cmath>
#include <fstream>
#include <iostream>

using namespace dlib;

template <template <int, template <typename> class, int, typename> class block, int N, template <typename> class BN, typename SUBNET>
using residual = add_prev1<block<N, BN, 1, tag1<SUBNET>>>;
template <template <int, template <typename> class, int, typename> class block, int N, template <typename> class BN, typename SUBNET>
using residual_down = add_prev2<avg_pool<2, 2, 2, 2, skip1<tag2<block<N, BN, 2, tag1<SUBNET>>>>>>;
template <int N, template <typename> class BN, int stride, typename SUBNET>
using block = BN<con<N, 3, 3, 1, 1, relu<BN<con<N, 3, 3, stride, stride, SUBNET>>>>>;
template <int N, typename SUBNET> using ares = relu<residual<block, N, affine, SUBNET>>;
template <int N, typename SUBNET> using ares_down = relu<residual_down<block, N, affine, SUBNET>>;
template <typename SUBNET> using alevel0 = ares_down<256, SUBNET>;
template <typename SUBNET> using alevel1 = ares<256, ares<256, ares_down<256, SUBNET>>>;
template <typename SUBNET> using alevel2 = ares<128, ares<128, ares_down<128, SUBNET>>>;
template <typename SUBNET> using alevel3 = ares<64, ares<64, ares<64, ares_down<64, SUBNET>>>>;
template <typename SUBNET> using alevel4 = ares<32, ares<32, ares<32, SUBNET>>>;
using anet_type = loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
    max_pool<3, 3, 2, 2, relu<affine<con<32, 7, 7, 2, 2, input_rgb_image_sized<150>>>>>>>>>>>>>;

static void print(std::ostream& out, const matrix<float, 0, 1>& d) {
  out << "[";
  for (long k = 0; k < d.size(); ++k) out << (k ? "," : "") << d(k);
  out << "]";
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: dlib-reference MODELS_DIR IMAGES_ROOT LIST > out.jsonl\n"
                 "  MODELS_DIR holds shape_predictor_5_face_landmarks.dat and dlib_face_recognition_resnet_model_v1.dat;\n"
                 "  LIST names one image per line, relative to IMAGES_ROOT.\n";
    return 2;
  }
  const std::string models = argv[1], root = argv[2];
  frontal_face_detector detector = get_frontal_face_detector();
  shape_predictor sp;
  deserialize(models + "/shape_predictor_5_face_landmarks.dat") >> sp;
  anet_type net;
  deserialize(models + "/dlib_face_recognition_resnet_model_v1.dat") >> net;
  std::ifstream list(argv[3]);
  std::cout.precision(8);
  for (std::string f; std::getline(list, f);) {
    if (f.empty()) continue;
    matrix<rgb_pixel> img;
    load_image(img, root + "/" + f);
    const auto faces = detector(img, 1);
    std::cout << "{\"f\":\"" << f << "\",\"width\":" << img.nc() << ",\"height\":" << img.nr() << ",\"faces\":" << faces.size() << ",\"engine\":";
    if (faces.empty()) {
      std::cout << "null,\"subject\":null,\"plain\":null}\n" << std::flush;
      continue;
    }
    // The LFW subject is the face nearest the centre, as in facerec eval.
    rectangle subject;
    double best = INFINITY;
    for (const auto& r : faces) {
      const double d = std::hypot((r.left() + r.right()) / 2.0 - img.nc() / 2.0, (r.top() + r.bottom()) / 2.0 - img.nr() / 2.0);
      if (d < best) best = d, subject = r;
    }
    matrix<rgb_pixel> chip;
    extract_image_chip(img, get_face_chip_details(sp(img, subject), 150, 0.25), chip);
    const matrix<float, 0, 1> d = net(chip);
    // Every chip-based row of facerec eval shows this one descriptor; dlib has no box-crop pipeline.
    std::cout << "{\"dlib\":";
    print(std::cout, d);
    std::cout << ",\"dlibMirror\":";
    print(std::cout, d);
    std::cout << ",\"box\":null},\"subject\":null,\"plain\":null}\n" << std::flush;
  }
  return 0;
}

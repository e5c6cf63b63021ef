from setuptools import Extension, setup

setup(packages=["twofiles"],
      ext_modules=[Extension("twofiles._two", ["src/module.c", "src/value.c"])])

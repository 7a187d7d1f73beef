"""Exports of trained runs for use outside textrnn: `export_onnx` (ONNX + JSON + predict.py)."""

from textrnn.export.onnx import ExportError, ExportResult, OnnxGraph, export_onnx

__all__ = ["ExportError", "ExportResult", "OnnxGraph", "export_onnx"]
